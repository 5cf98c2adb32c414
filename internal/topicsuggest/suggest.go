// Package topicsuggest proposes topics from the data (issue 23, item 5):
// pairs of tags that share far more of their posts, or of their authors,
// than two tags of their sizes would by chance, such as a translation
// (#NATO and #OTAN) or a spelling variant. An operator judges each pair
// from its evidence and accepts it as a topic (internal/aggregatecli's
// `aggregate topics suggest`, docs/trends.md, "Topic suggestions").
//
// It reads the raw record, mentions, over a window (30 days by default):
// the hourly and daily rollups hold counts per tag, not which tags a post
// or an account shares, so no rollup can answer. Suggest counts, as every
// count does, only the posts that count (rollup.CountedSQL: no bot, not
// deleted), each post once however many copies of its rows are stored.
//
// The measure. For each population — posts, and accounts (authors) — a
// pair's overlap is the members carrying tag a, those carrying b, those
// carrying both, and the effective population (Overlap, effective): the
// members two independent tags are drawn from, smaller than the members
// when a few members carry most tags, as active accounts do. A side is
// evidence (Thresholds) when the two tags
//
//   - share at least MinShared members (the support),
//   - with a lift P(a∧b)/(P(a)·P(b)) of at least MinLift (a tag carried by
//     more than 1/MinLift of the members, #news, can never reach it),
//   - at least MinZ standard deviations above the count chance gives (a
//     lucky overlap of small tags has a lift, not a Z),
//   - and an overlap coefficient |a∩b|/min(|a|,|b|) of at least
//     MinOverlap (related subjects share far more than chance but a
//     small part of each).
//
// A pair is suggested when either side is evidence, and ranked by the
// larger normalized PMI of its evidence sides. Posts catch tags written
// together (bilingual posts, a campaign's variants); accounts catch
// translations the same people use in separate posts, one per language.
//
// Bounds. Only the MaxTags tags with the most rows, and at least
// MinShared of them, are candidates. A post with more than MaxPostTags
// candidate tags (tag stuffing) makes no pair, nor does an account with
// more than MaxAccountTags (a feed that uses every tag says nothing of
// any two). The account side counts named accounts only. Above
// SampleRows rows in the window, each population reads a deterministic
// sample of its members (by hash of post id, or of account), so that the
// cost stops growing with the history; counts are then scaled estimates,
// and the support must hold in the sample. Every query stops after
// QueryTimeout, and an answer of more than MaxRows pairs above the support
// is refused rather than cut at random.
package topicsuggest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/rollup"
	"tagpulse/internal/trend"
)

// Defaults and bounds of a Query.
const (
	DefaultWindow    = 30 * 24 * time.Hour
	MaxWindow        = trend.MaxWindow
	DefaultMinShared = 10
	DefaultMinLift   = 3.0
	// MinZ is the Z every side of evidence needs (Thresholds.MinZ).
	MinZ = 8.0
	// MinOverlap is the overlap coefficient every side of evidence needs
	// (Thresholds.MinOverlap).
	MinOverlap   = 0.2
	DefaultLimit = 20
	MaxLimit     = 1000
)

// Bounds of the work one Suggest does, whatever the history holds.
const (
	// MaxTags is how many candidate tags, the most used, are paired.
	MaxTags = 5000
	// MaxPostTags is the most candidate tags a post may carry and still
	// make pairs.
	MaxPostTags = 20
	// MaxAccountTags is the most candidate tags an account may have used
	// in the window and still make pairs.
	MaxAccountTags = 50
	// MaxRows bounds the pairs above the support one population returns.
	MaxRows = 1_000_000
	// SampleRows is the default of Query.SampleRows. It bounds the rows of
	// mentions each population reads: above it, Suggest reads the posts
	// (and the accounts) whose hash falls in a share of SampleRows/rows of
	// the window, so a query costs about the same on 20M posts as on 2M
	// (BENCHMARKS.md).
	SampleRows = 2_000_000
	// QueryTimeout bounds each query on the server too.
	QueryTimeout = 60 * time.Second
)

// ErrTooManyPairs is returned when more than MaxRows pairs of tags share
// MinShared members: the answer would be cut at random. A larger
// MinShared or a shorter window makes it smaller.
var ErrTooManyPairs = errors.New("too many pairs of tags above the minimum support: raise the minimum of shared posts and accounts, or shorten the window")

// Query is what Suggest looks for.
type Query struct {
	// At is the time the window ends at (its minute included, as top's).
	At time.Time
	// Window is how far back from At to look: DefaultWindow when zero,
	// at most MaxWindow.
	Window time.Duration
	// MinShared is the least shared posts (or accounts) a pair needs:
	// DefaultMinShared when zero.
	MinShared int
	// MinLift is the least lift a pair needs: DefaultMinLift when zero.
	MinLift float64
	// Limit is how many pairs to return, best first: DefaultLimit when
	// zero, at most MaxLimit.
	Limit int
	// SampleRows is how many rows of mentions the window may hold before
	// Suggest reads a sample: SampleRows when zero.
	SampleRows uint64
	// Exclude, when set, leaves out the pairs it returns true for, such as
	// pairs already in one topic. It is called with a < b.
	Exclude func(a, b string) bool
}

// withDefaults returns q with its zero fields set to their defaults, or an
// error naming a field out of bounds.
func (q Query) withDefaults() (Query, error) {
	if q.At.IsZero() {
		q.At = time.Now()
	}
	if q.Window == 0 {
		q.Window = DefaultWindow
	}
	if q.MinShared == 0 {
		q.MinShared = DefaultMinShared
	}
	if q.MinLift == 0 {
		q.MinLift = DefaultMinLift
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.SampleRows == 0 {
		q.SampleRows = SampleRows
	}
	switch {
	case q.Window < time.Hour || q.Window > MaxWindow:
		return q, fmt.Errorf("window must be between 1h and %s, got %s", trend.FormatDuration(MaxWindow), trend.FormatDuration(q.Window))
	case q.MinShared < 2:
		return q, fmt.Errorf("minimum of shared posts and accounts must be at least 2, got %d", q.MinShared)
	case q.MinLift <= 1:
		return q, fmt.Errorf("minimum lift must be above 1 (chance), got %g", q.MinLift)
	case q.Limit < 1 || q.Limit > MaxLimit:
		return q, fmt.Errorf("limit must be between 1 and %d, got %d", MaxLimit, q.Limit)
	}
	return q, nil
}

// Validate reports whether q, with its defaults, is a question Suggest
// answers.
func (q Query) Validate() error {
	_, err := q.withDefaults()
	return err
}

// Span is the time Suggest reads for q: from the window's first minute
// (included) to the end of At's minute (excluded), as top's.
func (q Query) Span() (from, to time.Time) {
	q, _ = q.withDefaults()
	return trend.Span(q.At, q.Window)
}

// Pair is a suggested merge and its evidence. A is the tag with more
// posts, the name Suggest proposes for the topic.
type Pair struct {
	A string `json:"a"`
	B string `json:"b"`
	// Posts of each tag in the window, and posts that carry both.
	PostsA      uint64 `json:"posts_a"`
	PostsB      uint64 `json:"posts_b"`
	SharedPosts uint64 `json:"shared_posts"`
	// Named accounts that used each tag in the window (any post), and
	// those that used both, among the accounts of at most MaxAccountTags
	// candidate tags.
	AccountsA      uint64 `json:"accounts_a"`
	AccountsB      uint64 `json:"accounts_b"`
	SharedAccounts uint64 `json:"shared_accounts"`
	// PostLift and AccountLift are each side's lift (1 is chance);
	// AccountOverlap is the share of the smaller tag's accounts that used
	// the larger one too.
	PostLift       float64 `json:"post_lift"`
	AccountLift    float64 `json:"account_lift"`
	AccountOverlap float64 `json:"account_overlap"`
	// PostZ and AccountZ are each side's Z: how many standard deviations
	// its shared members are above chance.
	PostZ    float64 `json:"post_z"`
	AccountZ float64 `json:"account_z"`
	// Score ranks the pairs: the larger normalized PMI of the sides that
	// are evidence (1: always together; 0: chance).
	Score float64 `json:"score"`
	// Sample is the share of posts, and of accounts, read: 1 when the
	// window holds at most Query.SampleRows rows. Below 1, the counts
	// above are the sample's scaled up (estimates); lifts, overlaps, Z and
	// scores are the sample's, and the sample itself had to hold
	// MinShared shared posts or accounts.
	Sample float64 `json:"sample"`
}

// population is one side of the measure: what a member is, and which
// rows of mentions name one.
type population struct {
	name    string
	member  string // expression of the member a row belongs to
	members string // condition on the rows that name a member
	maxTags int
	hash    string // the hash a member is sampled by
}

var (
	// A post is keyed by the hash of its id: a number groups faster than
	// a string, and two of 20M posts share a hash with a chance of 1e-5.
	postsSide    = population{"posts", "cityHash64(post_id)", "1", MaxPostTags, "cityHash64(post_id)"}
	accountsSide = population{"accounts", "account", "account != ''", MaxAccountTags, "cityHash64(account)"}
)

// rangeCond is the condition on the window's rows; its bounds are named,
// as rollup.CountedSQL asks.
const rangeCond = "created_at >= toDateTime(@from) AND created_at < toDateTime(@to)"

// candidatesSQL lists the candidate tags and their hashes: the MaxTags
// with the most rows in the window, of at least @min rows. Rows are not
// posts (copies, bots and deleted posts count), but a tag with @min posts
// has @min rows, and the candidates only bound the work: every count
// Suggest reports comes from overlapSQL. Reading only the tag column, it
// costs a fraction of overlapSQL. It reads the posts' sample.
const candidatesSQL = `SELECT tag, cityHash64(tag) AS h
FROM mentions
PREWHERE ` + rangeCond + ` AND cityHash64(post_id) % 1024 < @share
GROUP BY tag
HAVING count() >= @min
ORDER BY count() DESC, tag
LIMIT @maxTags`

// overlapSQL counts one population's overlaps among the candidate tags
// ({candidates}: their hashes): each member's set of candidate tags (as
// hashes; copies of a row fold in the set), then every pair of its set,
// counted. The set is prefixed with 0 so that the pairs (0, t) count each
// tag's members and (0, 0) all members, with the sums of k and k·(k−1)
// over them, k being a member's number of tags (Suggest's effective
// population). ARRAY JOIN and arrayJoin, not a self-join, so that
// ClickHouse 18.16 runs it as one pass. {narrow} picks the tags to pair
// from a member's set, {keep} the pairs to return. Only the members whose
// {hash} is in the sample (@share of 1024) are read.
var overlapSQL = `SELECT a, b, toUInt64(count()) AS n, toUInt64(sum(k)) AS sk, toUInt64(sum(k * (k - 1))) AS skk
FROM (
    SELECT tags, k, arrayJoin(arrayConcat([toUInt64(0)], tags)) AS a
    FROM (
        SELECT {narrow} AS tags, length(member_tags) AS k
        FROM (
            SELECT {member} AS member, arrayDistinct(groupArray(cityHash64(tag))) AS member_tags
            FROM mentions
            PREWHERE ` + rangeCond + ` AND {members} AND {hash} % 1024 < @share
            WHERE ` + rollup.CountedSQL(rangeCond) + `
              AND cityHash64(tag) IN ({candidates})
            GROUP BY member
        )
        WHERE length(member_tags) <= @maxMemberTags
    )
)
ARRAY JOIN arrayFilter(x -> x > a OR (a = 0 AND x = 0), arrayConcat([toUInt64(0)], tags)) AS b
GROUP BY a, b
HAVING {keep}
LIMIT @maxRows`

// counts is what one population's query returned: each tag's members,
// the effective population, and the pairs' shared members.
type counts struct {
	tags   map[string]uint64
	total  float64
	shared map[[2]string]uint64
}

// effective is the population two independent tags are drawn from, given
// that members with more tags carry more pairs: with k a member's number
// of tags, a member carries tag a with a chance of about k·A/Σk, and both
// a and b with about k·(k−1)·A·B/(Σk)², so the expected shared members
// are A·B/T with T = (Σk)²/Σk·(k−1). When every member has the same
// number of tags k, T is (k/(k−1)) times the members; when a few members
// carry most tags (active accounts), T is much smaller than the members,
// and a pair of the tags active accounts all use is expected to share
// many of them. It is 0 when no member has two tags.
func effective(sumK, sumKK uint64) float64 {
	if sumKK == 0 {
		return 0
	}
	return float64(sumK) * float64(sumK) / float64(sumKK)
}

// overlap is the overlap of a and b (a < b) in c.
func (c counts) overlap(a, b string) Overlap {
	return Overlap{A: c.tags[a], B: c.tags[b], Both: c.shared[[2]string{a, b}], Total: c.total}
}

// Suggest returns the pairs of tags the measure of the package comment
// suggests over q's window, best first, at most q.Limit.
func Suggest(ctx context.Context, conn driver.Conn, q Query) ([]Pair, error) {
	q, err := q.withDefaults()
	if err != nil {
		return nil, err
	}
	from, to := trend.Span(q.At, q.Window)
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"max_execution_time": int(QueryTimeout / time.Second),
	}))
	r := reader{conn: conn, q: q, from: from, to: to}
	if err := r.sample(ctx); err != nil {
		return nil, err
	}
	if err := r.candidates(ctx); err != nil {
		return nil, err
	}
	if len(r.names) == 0 {
		return nil, nil
	}
	sides := map[string]counts{}
	for _, side := range []population{postsSide, accountsSide} {
		c, err := r.read(ctx, side, "member_tags", "a = 0 OR n >= @min", nil)
		if err != nil {
			return nil, err
		}
		sides[side.name] = c
	}
	posts, accounts := sides[postsSide.name], sides[accountsSide.name]
	t := Thresholds{MinShared: r.minShared(), MinLift: q.MinLift, MinZ: MinZ, MinOverlap: MinOverlap}
	var pairs []Pair
	seen := map[[2]string]bool{}
	for _, c := range []counts{posts, accounts} {
		for k := range c.shared {
			if seen[k] || (q.Exclude != nil && q.Exclude(k[0], k[1])) {
				continue
			}
			seen[k] = true
			p, a := posts.overlap(k[0], k[1]), accounts.overlap(k[0], k[1])
			if score, ok := t.Score(p, a); ok {
				pairs = append(pairs, newPair(k[0], k[1], p, a, score, r.fraction()))
			}
		}
	}
	pairs = rank(pairs, q.Limit)
	if err := r.complete(ctx, pairs, posts, accounts); err != nil {
		return nil, err
	}
	for i, p := range pairs {
		k := key(p.A, p.B)
		pairs[i] = newPair(k[0], k[1], posts.overlap(k[0], k[1]), accounts.overlap(k[0], k[1]), p.Score, r.fraction())
	}
	return pairs, nil
}

// reader runs the queries of one Suggest.
type reader struct {
	conn     driver.Conn
	q        Query
	from, to time.Time
	// names maps the candidates' hashes to the tags; hashes lists them
	// for the IN of overlapSQL (numbers, so no quoting).
	names  map[uint64]string
	hashes string
	// share is the sample: members whose hash % 1024 is below it are
	// read (1024: all).
	share uint64
}

// sample sets r.share from the rows of mentions in the window.
func (r *reader) sample(ctx context.Context) error {
	var rows uint64
	if err := r.conn.QueryRow(ctx, "SELECT count() FROM mentions WHERE "+rangeCond,
		clickhouse.Named("from", r.from.Unix()), clickhouse.Named("to", r.to.Unix())).Scan(&rows); err != nil {
		return fmt.Errorf("counting the rows of the window: %w", trend.MissingSchema(err))
	}
	r.share = sampleShare(rows, r.q.SampleRows)
	return nil
}

// sampleShare is the share of 1024 of the members to read when the window
// holds rows rows of mentions: all up to limit, then about limit of them.
func sampleShare(rows, limit uint64) uint64 {
	if rows <= limit {
		return 1024
	}
	return max(1, (limit*1024+rows-1)/rows)
}

// fraction is the share of the members read, 1 when all are.
func (r *reader) fraction() float64 { return float64(r.share) / 1024 }

// minShared is the support a pair needs in the members read: MinShared,
// in the sample too. Scaled down to the sample, a handful of members
// would do, and among millions of pairs of tags a handful share a few by
// luck, far above their tiny expected count; read whole, a pair needs
// MinShared members in all.
func (r *reader) minShared() uint64 { return uint64(r.q.MinShared) }

// candidates reads the candidate tags into r.
func (r *reader) candidates(ctx context.Context) error {
	rows, err := r.conn.Query(ctx, candidatesSQL, clickhouse.Named("from", r.from.Unix()), clickhouse.Named("to", r.to.Unix()),
		clickhouse.Named("min", r.minShared()), clickhouse.Named("maxTags", MaxTags), clickhouse.Named("share", r.share))
	if err != nil {
		return fmt.Errorf("listing the candidate tags: %w", trend.MissingSchema(err))
	}
	defer rows.Close()
	r.names = map[uint64]string{}
	var list []string
	for rows.Next() {
		var (
			tag string
			h   uint64
		)
		if err := rows.Scan(&tag, &h); err != nil {
			return fmt.Errorf("reading the candidate tags: %w", err)
		}
		r.names[h] = tag
		list = append(list, strconv.FormatUint(h, 10))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading the candidate tags: %w", err)
	}
	r.hashes = strings.Join(list, ", ")
	return nil
}

// read runs overlapSQL for side, with narrow and keep for its
// placeholders and few (tags) bound to @few.
func (r *reader) read(ctx context.Context, side population, narrow, keep string, few []uint64) (counts, error) {
	sql := strings.NewReplacer("{member}", side.member, "{members}", side.members, "{narrow}", narrow, "{keep}", keep,
		"{hash}", side.hash, "{candidates}", r.hashes).Replace(overlapSQL)
	args := []any{
		clickhouse.Named("from", r.from.Unix()), clickhouse.Named("to", r.to.Unix()), clickhouse.Named("share", r.share),
		clickhouse.Named("min", r.minShared()), clickhouse.Named("maxMemberTags", side.maxTags), clickhouse.Named("maxRows", MaxRows+1),
	}
	if few != nil {
		args = append(args, clickhouse.Named("few", few))
	}
	rows, err := r.conn.Query(ctx, sql, args...)
	if err != nil {
		return counts{}, fmt.Errorf("counting the %s tags share: %w", side.name, trend.MissingSchema(err))
	}
	defer rows.Close()
	c := counts{tags: map[string]uint64{}, shared: map[[2]string]uint64{}}
	n := 0
	for rows.Next() {
		var a, b, shared, sumK, sumKK uint64
		if err := rows.Scan(&a, &b, &shared, &sumK, &sumKK); err != nil {
			return counts{}, fmt.Errorf("reading the %s tags share: %w", side.name, err)
		}
		switch n++; {
		case a == 0 && b == 0:
			c.total = effective(sumK, sumKK)
		case a == 0:
			c.tags[r.names[b]] = shared
		default:
			c.shared[key(r.names[a], r.names[b])] = shared
		}
	}
	if err := rows.Err(); err != nil {
		return counts{}, fmt.Errorf("reading the %s tags share: %w", side.name, err)
	}
	if n > MaxRows {
		return counts{}, fmt.Errorf("counting the %s tags share: %w", side.name, ErrTooManyPairs)
	}
	return c, nil
}

// complete fills in the evidence the first reads left out: a pair is
// suggested when one side is evidence, and the other side's shared members
// were not read when they were fewer than MinShared. One narrow read per
// side counts them for the pairs that lack them, into posts and accounts.
func (r *reader) complete(ctx context.Context, pairs []Pair, posts, accounts counts) error {
	hash := map[string]uint64{}
	for h, tag := range r.names {
		hash[tag] = h
	}
	for _, side := range []struct {
		population
		known counts
	}{{postsSide, posts}, {accountsSide, accounts}} {
		var few []uint64
		for _, p := range pairs {
			if _, ok := side.known.shared[key(p.A, p.B)]; !ok {
				few = append(few, hash[p.A], hash[p.B])
			}
		}
		if len(few) == 0 {
			continue
		}
		c, err := r.read(ctx, side.population, "arrayFilter(t -> has(@few, t), member_tags)", "a != 0", few)
		if err != nil {
			return err
		}
		for _, p := range pairs {
			k := key(p.A, p.B)
			if _, ok := side.known.shared[k]; !ok {
				side.known.shared[k] = c.shared[k]
			}
		}
	}
	return nil
}

// key is the pair of a and b in the order the maps hold it.
func key(a, b string) [2]string { return [2]string{min(a, b), max(a, b)} }
