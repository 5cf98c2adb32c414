package trend

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"

	"tagpulse/internal/chstore"
	"tagpulse/internal/rollup"
	"tagpulse/internal/topic"
)

// Count is one tag of a top list; its JSON form is what `aggregate top
// --json` and GET /api/v1/top print.
//
// Count is the tag's distinct posts (exact); Accounts its distinct
// accounts (a post with no author counts as its own account), from a
// uniqCombined sketch within 2% of the exact count up to 1M accounts
// (docs/trends.md).
//
// A topic's row (Query.Topics) names the topic in Topic instead of Tag,
// counts the distinct posts carrying any of its tags, and lists in Members
// each tag's own distinct posts in the window (a post with two of them
// counts in both, so they need not add up to Count).
type Count struct {
	Tag      string     `json:"tag,omitempty"`
	Topic    string     `json:"topic,omitempty"`
	Display  string     `json:"display"`
	Count    uint64     `json:"count"`
	Accounts uint64     `json:"accounts"`
	Members  []TagCount `json:"members,omitempty"`
}

// TagCount is one tag of a topic and its distinct posts in the window.
type TagCount struct {
	Tag   string `json:"tag"`
	Count uint64 `json:"count"`
}

// Trend is one tag of a trending list: its count in the window, what its
// history predicts for the window, and the score of the difference.
//
// HistoryWindows is how many of the Params.BaselineWindows earlier windows
// the stored posts cover (under the query's filter), the same for every
// tag of one answer; EnoughHistory is false while it is short of them. A
// window before the first stored post counts as zero posts, so on a fresh
// import every tag looks new and trending repeats top: the score is not
// yet meaningful.
//
// A topic's trend (Query.Topics) names it in Topic and lists its Members
// as Count does; its Concentration is not read (zero).
type Trend struct {
	Tag            string     `json:"tag,omitempty"`
	Topic          string     `json:"topic,omitempty"`
	Members        []TagCount `json:"members,omitempty"`
	Display        string     `json:"display"`
	Count          uint64     `json:"count"`
	Accounts       uint64     `json:"accounts"`
	By             By         `json:"by"`
	Expected       float64    `json:"expected"`
	Score          float64    `json:"score"`
	HistoryWindows int        `json:"history_windows"`
	EnoughHistory  bool       `json:"enough_history"`
	Concentration
}

// Series is the count of one tag per step, oldest first, with no gaps.
// Hidden is true when an operator keeps the tag out of top and trending;
// its posts count all the same. A topic's series (SeriesQuery.Topics)
// names it in Topic.
type Series struct {
	Tag     string  `json:"tag,omitempty"`
	Topic   string  `json:"topic,omitempty"`
	Display string  `json:"display"`
	Hidden  bool    `json:"hidden"`
	Points  []Point `json:"points"`
}

// Point is the count of distinct posts in the step from Time (its start,
// inclusive) to End (exclusive). The last step of a series contains the
// query time, so it may not be over yet.
type Point struct {
	Time     time.Time `json:"time"`
	End      time.Time `json:"end"`
	Count    uint64    `json:"count"`
	Accounts uint64    `json:"accounts"`
}

// Store runs the trend queries on ClickHouse.
type Store struct {
	conn   driver.Conn
	params Params
	// cluster reaches the own tables of every replica of every shard when
	// conn reads a cluster's Distributed tables (OnCluster); nil on one
	// server.
	cluster *clusterReplicas
}

// NewStore returns a Store that reads conn's database and scores trends
// with params.
func NewStore(conn driver.Conn, params Params) *Store {
	return &Store{conn: conn, params: params}
}

// OnCluster returns s reading a cluster's Distributed tables when cfg
// names a cluster (docs/scaling.md), and s itself otherwise. The rollup's
// state is then read from every replica of every shard
// (rollup.Replicas); while one cannot be reached, no rollup bucket is
// trusted and reads count from mentions: exact, only slower. A read that
// fails because a whole shard is down names the shard
// (chstore.ExplainUnreachable).
func (s *Store) OnCluster(cfg chstore.Config) *Store {
	if cfg.Cluster == "" {
		return s
	}
	c := *s
	c.conn = chstore.Explaining(s.conn, cfg)
	c.cluster = &clusterReplicas{cfg: cfg}
	return &c
}

// clusterReplicas opens the connections to the replicas on first use, and
// again after one failed.
type clusterReplicas struct {
	cfg   chstore.Config
	mu    sync.Mutex
	conns []driver.Conn
}

// state loads the rollup's state of [from, to) from every replica, or
// returns a state that trusts nothing when one cannot be read.
func (c *clusterReplicas) state(ctx context.Context, from, to time.Time) rollup.Replicas {
	conns := c.open(ctx)
	if conns == nil {
		return nil
	}
	st, err := rollup.LoadReplicas(ctx, conns, from, to)
	if err != nil {
		c.drop(conns)
		return nil
	}
	return st
}

// open returns the connections to the replicas, opening them if need be;
// nil when they cannot be opened.
func (c *clusterReplicas) open(ctx context.Context) []driver.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conns == nil {
		shards, err := chstore.OpenReplicas(ctx, c.cfg)
		if err != nil {
			return nil
		}
		for _, sh := range shards {
			c.conns = append(c.conns, sh.Conn)
		}
	}
	return c.conns
}

// drop closes conns after a read on one of them failed, unless another
// read has dropped them already, so the next read opens them again.
func (c *clusterReplicas) drop(conns []driver.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.conns) == 0 || &c.conns[0] != &conns[0] {
		return
	}
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// queryTimeout bounds each query on the server as well, so a client that
// gives up does not leave ClickHouse working.
const queryTimeout = 20 * time.Second

func (s *Store) query(ctx context.Context, what, sql string, args ...any) (driver.Rows, error) {
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"max_execution_time": int(queryTimeout / time.Second),
	}))
	rows, err := s.conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("querying %s: %w", what, MissingSchema(err))
	}
	return rows, nil
}

// ErrNoSchema matches the errors of questions asked of a ClickHouse where
// tagpulse's database or tables do not exist yet (errors.Is).
var ErrNoSchema = errors.New("the tagpulse database does not exist yet: run `aggregate migrate` (or `aggregate run`, which migrates at start), then load posts")

// ErrOldSchema matches the errors of questions asked of a database whose
// schema is older than this release: a column this release reads is
// missing (errors.Is). Such an error matches ErrNoSchema too.
var ErrOldSchema = errors.New("the tagpulse database has the schema of an older release: run `aggregate migrate` (or `aggregate run`, which migrates at start)")

// ClickHouse's codes for an unknown identifier, database and table.
const (
	codeUnknownIdentifier = 47
	codeUnknownTable      = 60
	codeUnknownDatabase   = 81
)

// newColumns are the columns reads need that a migration of a later
// release than the tables' added (migration 0009).
var newColumns = []string{"account_count"}

type schemaError struct{ base, err error }

func (e *schemaError) Error() string   { return e.base.Error() + " (" + e.err.Error() + ")" }
func (e *schemaError) Unwrap() []error { return []error{e.base, ErrNoSchema, e.err} }

// MissingSchema returns err as an error matching ErrNoSchema when
// ClickHouse answered that the database or a table is unknown, or
// ErrOldSchema when a column only a newer migration adds is, and err
// unchanged otherwise.
func MissingSchema(err error) error {
	var ex *clickhouse.Exception
	if !errors.As(err, &ex) {
		return err
	}
	switch ex.Code {
	case codeUnknownDatabase, codeUnknownTable:
		return &schemaError{base: ErrNoSchema, err: err}
	case codeUnknownIdentifier:
		for _, c := range newColumns {
			if strings.Contains(ex.Message, c) {
				return &schemaError{base: ErrOldSchema, err: err}
			}
		}
	}
	return err
}

// By says what trending ranks on: distinct accounts (the default: one
// author posting a tag fifty times does not make it trend) or distinct
// posts.
type By string

// The rankings of trending.
const (
	ByAccounts By = "accounts"
	ByPosts    By = "posts"
)

// ParseBy reads --by and the API's by; empty is ByAccounts.
func ParseBy(s string) (By, error) {
	switch By(s) {
	case "", ByAccounts:
		return ByAccounts, nil
	case ByPosts:
		return ByPosts, nil
	}
	return "", invalid("by must be accounts or posts, got %q", s)
}

// maxCandidates bounds the tags trending scores: the ones with the most
// posts in the current window. A tag below them has too few posts to rank
// among the first MaxLimit by any score the baseline allows, and scoring
// every tag with MinCount posts made trending cost as much as the tags.
const maxCandidates = 500

// Top returns the tags (topics, with q.Topics) with the most distinct
// posts in the window, most first (ties by name), with their distinct
// accounts and display forms (a topic's members).
func (s *Store) Top(ctx context.Context, q Query) ([]Count, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	from, to := Span(q.At, q.Window)
	r, err := s.newReading(ctx, q.tiers(), []slot{{from, to}})
	if err != nil {
		return nil, err
	}
	tags, err := s.rank(ctx, "top "+r.key+"s", r.again(), q.Filter, q.Limit, 0)
	if err != nil {
		return nil, err
	}
	out := make([]Count, len(tags))
	if len(tags) == 0 {
		return out, nil
	}
	names := make([]string, len(tags))
	for i, t := range tags {
		names[i] = t.tag
	}
	r = r.again()
	r.filter, r.keys = q.Filter, names
	// The accounts and the display forms (a topic's members) are two
	// reads of their own: they go out at once.
	var (
		g        errgroup.Group
		counts   map[string]map[int]Tally
		displays map[string]string
		members  map[string][]TagCount
	)
	g.Go(func() (err error) {
		counts, err = s.counts(ctx, "accounts of the top "+r.key+"s", r, true)
		return err
	})
	g.Go(func() (err error) {
		if q.Topics {
			displays = identity(names)
			members, err = s.memberCounts(ctx, r.progress, r.members.Of(names), q.Filter, slot{from, to})
			return err
		}
		displays, err = s.displays(ctx, names)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, t := range tags {
		out[i] = Count{Display: displays[t.tag], Count: t.posts, Accounts: counts[t.tag][0].Accounts}
		if q.Topics {
			out[i].Topic, out[i].Members = t.tag, members[t.tag]
		} else {
			out[i].Tag = t.tag
		}
	}
	return out, nil
}

// tiers are the tier tables a query reads: per tag, or per topic.
func (q Query) tiers() rollup.Tiers {
	if q.Topics {
		return rollup.TopicTiers
	}
	return rollup.TagTiers
}

// identity maps each name to itself: a topic's display form is its name.
func identity(names []string) map[string]string {
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = n
	}
	return out
}

// memberCounts reads each member tag's own distinct posts in sl under f,
// per topic of members, most first (ties by tag), all of a topic's tags
// listed. sl lies within the span of prog, the rollup's state the topics'
// read loaded.
func (s *Store) memberCounts(ctx context.Context, prog rollupProgress, members topic.Members, f Filter, sl slot) (map[string][]TagCount, error) {
	out := map[string][]TagCount{}
	if members.Empty() {
		return out, nil
	}
	r := prog.reading(rollup.TagTiers, topic.Members{}, []slot{sl})
	r.filter, r.keys = f, members.AllTags()
	counts, err := s.counts(ctx, "the posts of the topics' tags", r, false)
	if err != nil {
		return nil, err
	}
	for i, name := range members.Topics {
		tag := members.Tags[i]
		out[name] = append(out[name], TagCount{Tag: tag, Count: counts[tag][0].Posts})
	}
	for _, tcs := range out {
		slices.SortStableFunc(tcs, func(a, b TagCount) int { return cmp.Compare(b.Count, a.Count) })
	}
	return out, nil
}

type ranked struct {
	tag   string
	posts uint64
}

// rank returns the visible tags (or the topics) with at least min posts
// over r's slots, most posts first (ties by name), at most limit of them.
func (s *Store) rank(ctx context.Context, what string, r *reading, f Filter, limit int, min uint64) ([]ranked, error) {
	r.filter = f
	visible := ""
	if r.key == "tag" {
		visible = notHiddenSQL
	}
	q := "SELECT " + r.key + ", sum(n) AS total FROM (" + r.sql(false) + ") WHERE 1" + visible +
		" GROUP BY " + r.key + " HAVING total >= " + r.bind(min) + " ORDER BY total DESC, " + r.key + " ASC LIMIT " + r.bind(limit)
	rows, err := s.query(ctx, what, q, r.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ranked
	for rows.Next() {
		var t ranked
		if err := rows.Scan(&t.tag, &t.posts); err != nil {
			return nil, fmt.Errorf("reading %s: %w", what, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	return out, nil
}

// baselineBucket is the bucket trending's baseline windows are aligned to
// for a window: days for whole days, hours for whole hours, else minutes.
// Aligned windows read whole rows of the day or hour tier.
func baselineBucket(window time.Duration) time.Duration {
	switch {
	case window%(24*time.Hour) == 0:
		return 24 * time.Hour
	case window%time.Hour == 0:
		return time.Hour
	}
	return time.Minute
}

// trendSlots returns the current window and the baseline windows of a
// trending query, most recent first: the baseline windows have the
// window's length and end at the start of the bucket that holds the
// current window's start (docs/trends.md).
func trendSlots(at time.Time, window time.Duration, k int) []slot {
	from, to := Span(at, window)
	base := BaselineEnd(at, window)
	out := []slot{{from, to}}
	for i := 1; i <= k; i++ {
		out = append(out, slot{base.Add(-time.Duration(i) * window), base.Add(-time.Duration(i-1) * window)})
	}
	return out
}

// Trending returns the tags whose count in the window is furthest above
// what their history predicts, highest score first. by says whether the
// counts scored are distinct accounts or distinct posts.
func (s *Store) Trending(ctx context.Context, q Query) ([]Trend, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	by, err := ParseBy(string(q.By))
	if err != nil {
		return nil, err
	}
	k := s.params.BaselineWindows
	slots := trendSlots(q.At, q.Window, k)
	// Only tags with enough posts in the current window can trend; the
	// ones with most posts are the candidates.
	rs, err := s.newReadings(ctx, q.tiers(), slots[:1], slots)
	if err != nil {
		return nil, err
	}
	cands, err := s.rank(ctx, "trending candidates", rs[0], q.Filter, maxCandidates, s.params.MinCount)
	if err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		return []Trend{}, nil
	}
	names := make([]string, len(cands))
	for i, c := range cands {
		names[i] = c.tag
	}
	r := rs[1]
	r.filter, r.keys = q.Filter, names
	// The slot of a bucket: 0 in the current window, else how many
	// baseline windows back from the base it lies.
	cur, base := slots[0].from.Unix(), BaselineEnd(q.At, q.Window).Unix()
	r.slotSQL = "if({ts} >= " + r.bind(cur) + ", 0, 1 + intDiv(" + r.bind(base) + " - 1 - {ts}, " + r.bind(int64(q.Window/time.Second)) + "))"
	// The counts and the extent of the history (for history_windows) are
	// independent reads: they go out at once.
	var (
		g      errgroup.Group
		counts map[string]map[int]Tally
		ext    Extent
	)
	g.Go(func() (err error) {
		counts, err = s.counts(ctx, "trending "+r.key+"s", r, true)
		return err
	})
	g.Go(func() (err error) {
		ext, err = s.Extent(ctx, q.Filter)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	scored := make(map[string][]uint64, len(counts))
	for tag, bySlot := range counts {
		c := make([]uint64, k+1)
		for i, t := range bySlot {
			if i > k {
				continue
			}
			c[i] = t.Posts
			if by == ByAccounts {
				c[i] = t.Accounts
			}
		}
		scored[tag] = c
	}
	n := s.params.HistoryWindows(ext, q.At, q.Window)
	if q.Topics {
		return s.topicTrends(ctx, s.params.Rank(scored, len(scored)), q, by, r, slots[0], counts, n)
	}
	ranked := s.params.Rank(scored, len(scored))
	// The display forms of the tags most likely listed are read while
	// the concentration reads decide which are: two independent reads.
	likely := make([]string, 0, min(len(ranked), q.Limit+concentrationBatchExtra))
	for _, t := range ranked[:cap(likely)] {
		likely = append(likely, t.Tag)
	}
	var (
		tail     errgroup.Group
		displays map[string]string
		out      []Trend
	)
	tail.Go(func() (err error) {
		displays, err = s.displays(ctx, likely)
		return err
	})
	tail.Go(func() (err error) {
		out, err = s.unconcentrated(ctx, ranked, q, slots[0])
		return err
	})
	if err := tail.Wait(); err != nil {
		return nil, err
	}
	// A tag listed past the likely ones (many concentrated tags above
	// it) gets its display form now.
	var missing []string
	for _, t := range out {
		if _, ok := displays[t.Tag]; !ok {
			missing = append(missing, t.Tag)
		}
	}
	if len(missing) > 0 {
		more, err := s.displays(ctx, missing)
		if err != nil {
			return nil, err
		}
		maps.Copy(displays, more)
	}
	for i := range out {
		now := counts[out[i].Tag][0]
		out[i].Count, out[i].Accounts, out[i].By = now.Posts, now.Accounts, by
		out[i].HistoryWindows, out[i].EnoughHistory = n, n >= k
		out[i].Display = displays[out[i].Tag]
	}
	return out, nil
}

// topicTrends completes trending's ranked topics (Rank names them in Tag):
// the first q.Limit, with their counts in the window, history and members.
// Concentration is a property of a tag's posts and is not read for topics.
// r is trending's reading, whose topics' members and rollup state the
// member tags' counts reuse.
func (s *Store) topicTrends(ctx context.Context, ranked []Trend, q Query, by By, r *reading, window slot,
	counts map[string]map[int]Tally, history int) ([]Trend, error) {
	ranked = ranked[:min(len(ranked), q.Limit)]
	names := make([]string, len(ranked))
	for i, t := range ranked {
		names[i] = t.Tag
	}
	tagCounts, err := s.memberCounts(ctx, r.progress, r.members.Of(names), q.Filter, window)
	if err != nil {
		return nil, err
	}
	for i := range ranked {
		t := &ranked[i]
		now := counts[t.Tag][0]
		t.Topic, t.Tag, t.Display, t.Members = t.Tag, "", t.Tag, tagCounts[t.Tag]
		t.Count, t.Accounts, t.By = now.Posts, now.Accounts, by
		t.HistoryWindows, t.EnoughHistory = history, history >= s.params.BaselineWindows
	}
	return ranked, nil
}

// unconcentrated returns the first q.Limit of ranked with their
// Concentration over the window, leaving out the concentrated ones unless
// q.IncludeConcentrated. It reads the concentration of a few more tags than
// it needs at a time, since it is a read of mentions.
// concentrationBatchExtra is how many tags past those still wanted each
// batch of unconcentrated reads, so one batch usually fills the answer
// even when a few tags are concentrated.
const concentrationBatchExtra = 10

func (s *Store) unconcentrated(ctx context.Context, ranked []Trend, q Query, window slot) ([]Trend, error) {
	out := make([]Trend, 0, min(q.Limit, len(ranked)))
	reader := s.concentrationReader(window.from, window.to, q.Filter)
	for len(ranked) > 0 && len(out) < q.Limit {
		n := min(len(ranked), q.Limit-len(out)+concentrationBatchExtra)
		tags := make([]string, n)
		for i, t := range ranked[:n] {
			tags[i] = t.Tag
		}
		cs, err := reader.read(ctx, tags)
		if err != nil {
			return nil, err
		}
		for _, t := range ranked[:n] {
			t.Concentration = cs[t.Tag]
			if (!t.Concentrated || q.IncludeConcentrated) && len(out) < q.Limit {
				out = append(out, t)
			}
		}
		ranked = ranked[n:]
	}
	return out, nil
}

// Extent is the stretch of time the stored posts cover under a filter:
// the first and the last minute with a post. Empty is true when there is
// no post at all, and the times are then zero.
type Extent struct {
	Empty       bool
	First, Last time.Time
}

// Extent returns the first and last minute with posts under f. It reads
// the oldest and the newest day partitions of mentions that hold such
// posts, so it costs a day's rows, not the history's.
func (s *Store) Extent(ctx context.Context, f Filter) (Extent, error) {
	var cfg chstore.Config // one server
	if s.cluster != nil {
		cfg = s.cluster.cfg
	}
	parts, err := chstore.PartsOf(cfg, "mentions")
	if err != nil {
		return Extent{}, err
	}
	rows, err := s.query(ctx, "the days of the posts", "SELECT DISTINCT partition FROM "+parts+" AND active ORDER BY partition")
	if err != nil {
		return Extent{}, err
	}
	var days []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return Extent{}, fmt.Errorf("reading the days of the posts: %w", err)
		}
		days = append(days, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Extent{}, fmt.Errorf("reading the days of the posts: %w", err)
	}
	edge := func(order []string, pick string) (time.Time, bool, error) {
		for _, d := range order {
			if !isDigits(d) {
				return time.Time{}, false, fmt.Errorf("partition %q of mentions: want YYYYMMDD", d)
			}
			var (
				n uint64
				t uint32
			)
			// d is only digits (checked above).
			q := "SELECT count(), toUInt32(" + pick + "(created_at)) FROM mentions WHERE toYYYYMMDD(created_at) = " + d + filterSQL(f)
			row := s.conn.QueryRow(ctx, q, filterArgs(f)...)
			if err := row.Scan(&n, &t); err != nil {
				return time.Time{}, false, fmt.Errorf("reading the time range of the posts: %w", MissingSchema(err))
			}
			if n > 0 {
				return time.Unix(int64(t), 0).UTC().Truncate(time.Minute), true, nil
			}
		}
		return time.Time{}, false, nil
	}
	first, ok, err := edge(days, "min")
	if err != nil || !ok {
		return Extent{Empty: true}, err
	}
	slices.Reverse(days)
	last, _, err := edge(days, "max")
	if err != nil {
		return Extent{}, err
	}
	return Extent{First: first, Last: last}, nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// filterSQL returns the conditions on mentions for the filters that are
// set. Only these fixed fragments are spliced into the SQL; the values are
// bound.
func filterSQL(f Filter) string {
	var b strings.Builder
	if f.Source != "" {
		b.WriteString(" AND source = @source")
	}
	if f.Lang != "" {
		b.WriteString(" AND lang = @lang")
	}
	return b.String()
}

func filterArgs(f Filter) []any {
	return []any{clickhouse.Named("source", f.Source), clickhouse.Named("lang", f.Lang)}
}

// Posts returns how many distinct posts with hashtags under f were
// created from from (included) to to (excluded), both rounded down to the
// minute.
func (s *Store) Posts(ctx context.Context, f Filter, from, to time.Time) (uint64, error) {
	from, to = from.UTC().Truncate(time.Minute), to.UTC().Truncate(time.Minute)
	if !from.Before(to) {
		return 0, nil
	}
	r, err := s.newReading(ctx, rollup.PostTiers, []slot{{from, to}})
	if err != nil {
		return 0, err
	}
	r.filter = f
	counts, err := s.counts(ctx, "posts in the window", r, false)
	if err != nil {
		return 0, err
	}
	return counts[""][0].Posts, nil
}

// Known lists the distinct sources and languages of the stored posts, in
// order, so a filter naming neither can be told apart from a quiet window.
// It reads the hour rollup over all tags, and mentions after its end.
func (s *Store) Known(ctx context.Context) (sources, langs []string, err error) {
	rows, err := s.query(ctx, "sources and languages", `SELECT DISTINCT 's', source FROM post_hour WHERE source != '*'
UNION ALL
SELECT DISTINCT 'l', lang FROM post_hour WHERE lang != '*'
UNION ALL
SELECT DISTINCT 's', source FROM mentions WHERE created_at >= (SELECT max(hours_until) FROM rollup_done WHERE table = 'post_hour')
UNION ALL
SELECT DISTINCT 'l', lang FROM mentions WHERE created_at >= (SELECT max(hours_until) FROM rollup_done WHERE table = 'post_hour')`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var kind, v string
		if err := rows.Scan(&kind, &v); err != nil {
			return nil, nil, fmt.Errorf("reading sources and languages: %w", err)
		}
		if kind == "s" {
			sources = append(sources, v)
		} else {
			langs = append(langs, v)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading sources and languages: %w", err)
	}
	slices.Sort(sources)
	langs = slices.Compact(slices.Sorted(slices.Values(langs)))
	sources = slices.Compact(sources)
	return sources, langs, nil
}

// ErrUnknownFilter matches the error of CheckFilter (errors.Is); it also
// matches ErrInvalidQuery.
var ErrUnknownFilter = errors.New("no posts have this source or language")

type filterError struct{ msg string }

func (e *filterError) Error() string { return e.msg }
func (e *filterError) Is(target error) bool {
	return target == ErrUnknownFilter || target == ErrInvalidQuery
}

// CheckFilter returns an error naming the known values when f asks for a
// source or a language no stored post has, and nil otherwise (also when
// there are no posts at all).
func (s *Store) CheckFilter(ctx context.Context, f Filter) error {
	if f.Source == "" && f.Lang == "" {
		return nil
	}
	sources, langs, err := s.Known(ctx)
	if err != nil {
		return err
	}
	if len(sources) == 0 {
		return nil
	}
	for _, c := range []struct {
		name, value string
		known       []string
	}{{"source", f.Source, sources}, {"lang", f.Lang, langs}} {
		if c.value != "" && !slices.Contains(c.known, c.value) {
			return &filterError{msg: fmt.Sprintf("no posts have %s %q; the posts stored have %s %s", c.name, c.value, c.name, quoteList(c.known))}
		}
	}
	return nil
}

func quoteList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// Series returns, for each tag in the order asked, its count per step over
// the window, oldest first; steps without posts count 0.
func (s *Store) Series(ctx context.Context, q SeriesQuery) ([]Series, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	f := newSeriesFrame(q.At, q.Window, q.Step)
	from := f.start(0)
	step := int64(q.Step / time.Second)
	points := int(f.window / step)
	slots := make([]slot, points)
	for j := range slots {
		start := from + int64(j)*step
		slots[j] = slot{time.Unix(start, 0).UTC(), time.Unix(start+step, 0).UTC()}
	}
	tiers := rollup.TagTiers
	if q.Topics {
		tiers = rollup.TopicTiers
	}
	r, err := s.newReading(ctx, tiers, slots)
	if err != nil {
		return nil, err
	}
	r.filter, r.keys = q.Filter, q.Tags
	r.slotSQL = "intDiv({ts} - " + r.bind(from) + ", " + r.bind(step) + ")"
	// The counts, the hidden tags and the display forms are independent
	// reads: they go out at once.
	var (
		g        errgroup.Group
		counts   map[string]map[int]Tally
		hidden   map[string]bool
		displays map[string]string
	)
	g.Go(func() (err error) {
		counts, err = s.counts(ctx, r.key+" series", r, true)
		return err
	})
	if q.Topics {
		hidden, displays = map[string]bool{}, identity(q.Tags)
	} else {
		g.Go(func() (err error) {
			hidden, err = s.hiddenAmong(ctx, q.Tags)
			return err
		})
		g.Go(func() (err error) {
			displays, err = s.displays(ctx, q.Tags)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]Series, len(q.Tags))
	for i, tag := range q.Tags {
		out[i] = Series{Tag: tag, Display: displays[tag], Hidden: hidden[tag], Points: make([]Point, points)}
		if q.Topics {
			out[i].Tag, out[i].Topic = "", tag
		}
		for j := range out[i].Points {
			t := counts[tag][j]
			out[i].Points[j] = Point{Time: slots[j].from, End: slots[j].to, Count: t.Posts, Accounts: t.Accounts}
		}
	}
	return out, nil
}

// displays returns the display form of each tag: the spelling the most
// distinct posts used (ties go to the greater string, so the answer is
// stable), or the tag itself when it has none.
func (s *Store) displays(ctx context.Context, tags []string) (map[string]string, error) {
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		out[t] = t
	}
	if len(tags) == 0 {
		return out, nil
	}
	// The spellings per day are rolled up with the day's hours; from the
	// first day not rolled up on, they are read from mentions.
	since, err := rollup.Unrolled(ctx, s.conn, rollup.DisplayTable, time.Now())
	if err != nil {
		return nil, fmt.Errorf("reading display forms: %w", MissingSchema(err))
	}
	rows, err := s.query(ctx, "display forms", `SELECT tag, argMax(display, (n, display))
FROM (
    SELECT tag, display, sum(posts) AS n
    FROM tag_display_day
    WHERE day < toDateTime(@since) AND tag IN (SELECT arrayJoin(@tags))
    GROUP BY tag, display
    UNION ALL
    SELECT tag, display, uniqExact(post_id) AS n
    FROM mentions
    WHERE created_at >= toDateTime(@since) AND tag IN (SELECT arrayJoin(@tags))
      AND `+rollup.CountedSQL("created_at >= toDateTime(@since)")+`
    GROUP BY tag, display)
GROUP BY tag`, clickhouse.Named("tags", tags), clickhouse.Named("since", rollup.Day(since).Unix()))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var tag, display string
		if err := rows.Scan(&tag, &display); err != nil {
			return nil, fmt.Errorf("reading display forms: %w", err)
		}
		if display != "" {
			out[tag] = display
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading display forms: %w", err)
	}
	return out, nil
}
