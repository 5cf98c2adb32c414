package trend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Count is one tag of a top list; its JSON form is what `aggregate top
// --json` and GET /api/v1/top print.
type Count struct {
	Tag     string `json:"tag"`
	Display string `json:"display"`
	Count   uint64 `json:"count"`
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
type Trend struct {
	Tag            string  `json:"tag"`
	Display        string  `json:"display"`
	Count          uint64  `json:"count"`
	Expected       float64 `json:"expected"`
	Score          float64 `json:"score"`
	HistoryWindows int     `json:"history_windows"`
	EnoughHistory  bool    `json:"enough_history"`
}

// Series is the count of one tag per step, oldest first, with no gaps.
// Hidden is true when an operator keeps the tag out of top and trending;
// its posts count all the same.
type Series struct {
	Tag     string  `json:"tag"`
	Display string  `json:"display"`
	Hidden  bool    `json:"hidden"`
	Points  []Point `json:"points"`
}

// Point is the count of distinct posts in the step from Time (its start,
// inclusive) to End (exclusive). The last step of a series contains the
// query time, so it may not be over yet.
type Point struct {
	Time  time.Time `json:"time"`
	End   time.Time `json:"end"`
	Count uint64    `json:"count"`
}

// Store runs the trend queries on ClickHouse.
type Store struct {
	conn   driver.Conn
	params Params
}

// NewStore returns a Store that reads conn's database and scores trends
// with params.
func NewStore(conn driver.Conn, params Params) *Store {
	return &Store{conn: conn, params: params}
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

// ClickHouse's codes for an unknown database and an unknown table.
const (
	codeUnknownTable    = 60
	codeUnknownDatabase = 81
)

type schemaError struct{ err error }

func (e *schemaError) Error() string   { return ErrNoSchema.Error() + " (" + e.err.Error() + ")" }
func (e *schemaError) Unwrap() []error { return []error{ErrNoSchema, e.err} }

// MissingSchema returns err as an error matching ErrNoSchema when
// ClickHouse answered that the database or a table is unknown, and err
// unchanged otherwise.
func MissingSchema(err error) error {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) && (ex.Code == codeUnknownDatabase || ex.Code == codeUnknownTable) {
		return &schemaError{err: err}
	}
	return err
}

// filterSQL returns the conditions for the filters that are set. Only
// these fixed fragments are spliced into the SQL; the values are bound.
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

// Top returns the tags with the most distinct posts in the window, most
// first (ties by tag), with their display forms.
func (s *Store) Top(ctx context.Context, q Query) ([]Count, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	f := newFrame(q.At, q.Window)
	sql := `SELECT tag, uniqExactMerge(posts) AS n
FROM tag_minute
WHERE minute >= toDateTime(@from) AND minute < toDateTime(@end)` + filterSQL(q.Filter) + notHiddenSQL + `
GROUP BY tag
ORDER BY n DESC, tag ASC
LIMIT @limit`
	args := append(filterArgs(q.Filter),
		clickhouse.Named("from", f.start(0)),
		clickhouse.Named("end", f.end),
		clickhouse.Named("limit", q.Limit))
	rows, err := s.query(ctx, "top tags", sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Count{}
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.Tag, &c.Count); err != nil {
			return nil, fmt.Errorf("reading top tags: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading top tags: %w", err)
	}
	return out, setDisplays(ctx, s, out)
}

// Trending returns the tags whose count in the window is furthest above
// what their history predicts, highest score first.
func (s *Store) Trending(ctx context.Context, q Query) ([]Trend, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	f := newFrame(q.At, q.Window)
	k := s.params.BaselineWindows
	// Only tags with enough posts in the current window can trend, so the
	// subquery limits the per-slot counts to those candidates; the slot of
	// a minute is how many whole windows before the end it lies.
	filters := filterSQL(q.Filter)
	sql := `SELECT tag, toUInt32(intDiv(@end - 1 - toUInt32(minute), @window)) AS slot, uniqExactMerge(posts) AS n
FROM tag_minute
WHERE minute >= toDateTime(@from) AND minute < toDateTime(@end)` + filters + `
  AND tag IN (
    SELECT tag FROM tag_minute
    WHERE minute >= toDateTime(@current) AND minute < toDateTime(@end)` + filters + notHiddenSQL + `
    GROUP BY tag
    HAVING uniqExactMerge(posts) >= @min)
GROUP BY tag, slot`
	args := append(filterArgs(q.Filter),
		clickhouse.Named("from", f.start(k)),
		clickhouse.Named("current", f.start(0)),
		clickhouse.Named("end", f.end),
		clickhouse.Named("window", f.window),
		clickhouse.Named("min", s.params.MinCount))
	rows, err := s.query(ctx, "trending tags", sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	slots := map[string][]uint64{}
	for rows.Next() {
		var (
			tag  string
			slot uint32
			n    uint64
		)
		if err := rows.Scan(&tag, &slot, &n); err != nil {
			return nil, fmt.Errorf("reading trending tags: %w", err)
		}
		if int(slot) > k {
			continue
		}
		counts := slots[tag]
		if counts == nil {
			counts = make([]uint64, k+1)
			slots[tag] = counts
		}
		counts[slot] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading trending tags: %w", err)
	}
	out := s.params.Rank(slots, q.Limit)
	if len(out) > 0 {
		ext, err := s.Extent(ctx, q.Filter)
		if err != nil {
			return nil, err
		}
		n := s.params.HistoryWindows(ext, q.At, q.Window)
		for i := range out {
			out[i].HistoryWindows = n
			out[i].EnoughHistory = n >= k
		}
	}
	return out, setDisplays(ctx, s, out)
}

// Extent is the stretch of time the stored posts cover under a filter:
// the first and the last minute with a post. Empty is true when there is
// no post at all, and the times are then zero.
type Extent struct {
	Empty       bool
	First, Last time.Time
}

// Extent returns the first and last minute with posts under f.
func (s *Store) Extent(ctx context.Context, f Filter) (Extent, error) {
	rows, err := s.query(ctx, "the time range of the posts", `SELECT count(), toUInt32(min(minute)), toUInt32(max(minute))
FROM tag_minute
WHERE 1`+filterSQL(f), filterArgs(f)...)
	if err != nil {
		return Extent{}, err
	}
	defer rows.Close()
	var (
		n           uint64
		first, last uint32
	)
	if rows.Next() {
		if err := rows.Scan(&n, &first, &last); err != nil {
			return Extent{}, fmt.Errorf("reading the time range of the posts: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return Extent{}, fmt.Errorf("reading the time range of the posts: %w", err)
	}
	if n == 0 {
		return Extent{Empty: true}, nil
	}
	return Extent{First: time.Unix(int64(first), 0).UTC(), Last: time.Unix(int64(last), 0).UTC()}, nil
}

// Posts returns how many distinct posts with hashtags under f were
// created from from (included) to to (excluded), both rounded down to the
// minute.
func (s *Store) Posts(ctx context.Context, f Filter, from, to time.Time) (uint64, error) {
	rows, err := s.query(ctx, "posts in the window", `SELECT uniqExactMerge(posts)
FROM tag_minute
WHERE minute >= toDateTime(@from) AND minute < toDateTime(@end)`+filterSQL(f),
		append(filterArgs(f), clickhouse.Named("from", from.Unix()), clickhouse.Named("end", to.Unix()))...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n uint64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, fmt.Errorf("reading posts in the window: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reading posts in the window: %w", err)
	}
	return n, nil
}

// Known lists the distinct sources and languages of the stored posts, in
// order, so a filter naming neither can be told apart from a quiet window.
func (s *Store) Known(ctx context.Context) (sources, langs []string, err error) {
	rows, err := s.query(ctx, "sources and languages", `SELECT DISTINCT 's', source FROM tag_minute
UNION ALL
SELECT DISTINCT 'l', lang FROM tag_minute`)
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
	slices.Sort(langs)
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
	sql := `SELECT tag, toUInt32(intDiv(toUInt32(minute) - @from, @step)) AS i, uniqExactMerge(posts) AS n
FROM tag_minute
WHERE has(@tags, tag) AND minute >= toDateTime(@from) AND minute < toDateTime(@end)` + filterSQL(q.Filter) + `
GROUP BY tag, i`
	args := append(filterArgs(q.Filter),
		clickhouse.Named("tags", q.Tags),
		clickhouse.Named("from", from),
		clickhouse.Named("end", f.end),
		clickhouse.Named("step", step))
	rows, err := s.query(ctx, "tag series", sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Series, len(q.Tags))
	index := make(map[string]int, len(q.Tags))
	for i, tag := range q.Tags {
		index[tag] = i
		out[i] = Series{Tag: tag, Points: make([]Point, points)}
		for j := range out[i].Points {
			start := from + int64(j)*step
			out[i].Points[j].Time = time.Unix(start, 0).UTC()
			out[i].Points[j].End = time.Unix(start+step, 0).UTC()
		}
	}
	for rows.Next() {
		var (
			tag string
			i   uint32
			n   uint64
		)
		if err := rows.Scan(&tag, &i, &n); err != nil {
			return nil, fmt.Errorf("reading tag series: %w", err)
		}
		if t, ok := index[tag]; ok && int(i) < points {
			out[t].Points[i].Count = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading tag series: %w", err)
	}
	hidden, err := s.hiddenAmong(ctx, q.Tags)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Hidden = hidden[out[i].Tag]
	}
	return out, setDisplays(ctx, s, out)
}

func (c *Count) names() (string, *string)  { return c.Tag, &c.Display }
func (t *Trend) names() (string, *string)  { return t.Tag, &t.Display }
func (s *Series) names() (string, *string) { return s.Tag, &s.Display }

// setDisplays fills in the display form of every item.
func setDisplays[T any, P interface {
	*T
	names() (tag string, display *string)
}](ctx context.Context, s *Store, items []T) error {
	tags := make([]string, len(items))
	for i := range items {
		tags[i], _ = P(&items[i]).names()
	}
	displays, err := s.displays(ctx, tags)
	if err != nil {
		return err
	}
	for i := range items {
		tag, display := P(&items[i]).names()
		*display = displays[tag]
	}
	return nil
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
	rows, err := s.query(ctx, "display forms", `SELECT tag, argMax(display, (n, display))
FROM (
    SELECT tag, display, uniqExactMerge(posts) AS n
    FROM tag_display
    WHERE has(@tags, tag)
    GROUP BY tag, display)
GROUP BY tag`, clickhouse.Named("tags", tags))
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
