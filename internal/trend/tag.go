package trend

import (
	"context"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"golang.org/x/sync/errgroup"

	"tagpulse/internal/rollup"
	"tagpulse/internal/topic"
)

// Bounds and defaults of a tag page (TagQuery).
const (
	DefaultTagPosts = 20
	MaxTagPosts     = 100
	// CoTagSample is how many of a tag's latest posts in the window its
	// co-occurring tags are counted among: the read then costs at most the
	// rows of those posts' hours, however popular the tag.
	CoTagSample = 1000
	// CoTagLimit is how many co-occurring tags a page lists.
	CoTagLimit = 10
)

// TagQuery asks for the page of one tag over the window of length Window
// that ends with the minute containing At, under Filter.
type TagQuery struct {
	Tag    string
	At     time.Time
	Window time.Duration
	// Posts is how many of the most recent posts to list, 1 to
	// MaxTagPosts; 0 means DefaultTagPosts.
	Posts int
	Filter
}

// Validate checks the bounds of the query, normalises the tag as
// NormaliseTags does and sets the default number of posts.
func (q *TagQuery) Validate() error {
	if err := validateWindow(q.Window); err != nil {
		return err
	}
	if q.Posts == 0 {
		q.Posts = DefaultTagPosts
	}
	if q.Posts < 1 || q.Posts > MaxTagPosts {
		return invalid("posts must be between 1 and %d, got %d", MaxTagPosts, q.Posts)
	}
	if err := validateAt(q.At, q.Window); err != nil {
		return err
	}
	tags, err := NormaliseTags([]string{q.Tag})
	if err != nil {
		return err
	}
	q.Tag = tags[0]
	return q.Filter.validate()
}

// TagPage is what a tag's page shows for a window: its counts against the
// previous window of the same length, its series over a span around the
// window, when it started rising, the tags used with it and its latest
// posts (docs/design.md, GET /api/v1/tags/{tag}).
type TagPage struct {
	Tag     string `json:"tag"`
	Display string `json:"display"`
	// Hidden is set when an operator hid the tag from top and trending;
	// its page still shows it.
	Hidden bool `json:"hidden"`
	// Topics are the topics the tag belongs to (internal/topic), by name.
	Topics   []string  `json:"topics"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Count    uint64    `json:"count"`
	Accounts uint64    `json:"accounts"`
	// Previous is the window of the same length just before this one.
	Previous WindowCount `json:"previous"`
	// Concentration says how much of the window's posts its most active
	// account and instance wrote, and how many bots' posts it had apart.
	Concentration
	// Step is the chart's step ("1h" or "1d"); Points cover ChartSpan
	// steps ending with the one that holds At.
	Step   string  `json:"step"`
	Points []Point `json:"points"`
	// RisingSince is the start of the step since which every step has
	// been well above the tag's usual level (RisingSince), or null when it
	// is not rising.
	RisingSince *time.Time `json:"rising_since"`
	// CoTags are the tags most often used with this one, counted among its
	// latest CoSample posts in the window.
	CoTags   []CoTag `json:"cooccurring"`
	CoSample uint64  `json:"cooccurring_sample"`
	// Posts are its most recent posts in the window, newest first.
	Posts []TagPost `json:"posts"`
}

// WindowCount is the distinct posts and accounts of a tag over a window.
type WindowCount struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Count    uint64    `json:"count"`
	Accounts uint64    `json:"accounts"`
}

// CoTag is a tag used together with a page's tag: Count is how many of the
// sampled posts carry both.
type CoTag struct {
	Tag     string `json:"tag"`
	Display string `json:"display"`
	Count   uint64 `json:"count"`
}

// TagPost is one post behind a tag. Author, URL and Excerpt are empty when
// the source gave none or the post's text is not stored (posts counted
// before the posts table existed).
type TagPost struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Source    string    `json:"source"`
	Lang      string    `json:"lang"`
	Author    string    `json:"author"`
	URL       string    `json:"url"`
	Excerpt   string    `json:"excerpt"`
}

// ChartStep returns the step of a tag page's chart for a window: hours up
// to three days, days beyond.
func ChartStep(window time.Duration) time.Duration {
	if window <= 3*24*time.Hour {
		return time.Hour
	}
	return 24 * time.Hour
}

// ChartSpan returns the span of a tag page's chart: twice the window (so
// the previous window shows), at least 24 steps, a whole number of steps,
// at most MaxWindow.
func ChartSpan(window time.Duration) time.Duration {
	step := ChartStep(window)
	span := max(2*window, 24*step)
	if r := span % step; r != 0 {
		span += step - r
	}
	return min(span, MaxWindow)
}

// Tag returns the page of one tag (TagPage). It reads in three rounds,
// the reads of a round at once:
//  1. the counts of the window and of the one before it, and the chart
//     (Series): rollup reads; and the tag's concentration (a read of its
//     rows of mentions in the window);
//  2. the tag's latest posts, from the mentions of only the hours the
//     chart says hold them (SampleHours);
//  3. the tags used with those posts (coTags), and the stored details of
//     the ones listed (postDetails).
//
// So a page costs the rollup reads plus the rows of the hours of at most
// CoTagSample posts, however long the window. A hidden tag has its page
// too, marked Hidden.
func (s *Store) Tag(ctx context.Context, q TagQuery) (TagPage, error) {
	if err := q.Validate(); err != nil {
		return TagPage{}, err
	}
	from, to := Span(q.At, q.Window)
	page := TagPage{Tag: q.Tag, From: from, To: to, Step: FormatDuration(ChartStep(q.Window)),
		Previous: WindowCount{From: from.Add(-q.Window), To: from}}
	var (
		counts map[string]map[int]Tally
		chart  []Series
		conc   map[string]Concentration
	)
	var round1 errgroup.Group
	var topics topic.Members
	round1.Go(func() (err error) {
		topics, err = topic.ReadMembers(ctx, s.conn)
		return MissingSchema(err)
	})
	round1.Go(func() (err error) {
		conc, err = s.concentrationReader(from, to, q.Filter).read(ctx, []string{q.Tag})
		return err
	})
	round1.Go(func() error {
		r, err := s.newReading(ctx, rollup.TagTiers, []slot{{from, to}, {page.Previous.From, page.Previous.To}})
		if err != nil {
			return err
		}
		r.filter, r.keys = q.Filter, []string{q.Tag}
		r.slotSQL = "if({ts} >= " + r.bind(from.Unix()) + ", 0, 1)"
		counts, err = s.counts(ctx, "the tag's windows", r, true)
		return err
	})
	round1.Go(func() (err error) {
		chart, err = s.Series(ctx, SeriesQuery{At: q.At, Window: ChartSpan(q.Window), Step: ChartStep(q.Window), Tags: []string{q.Tag}, Filter: q.Filter})
		return err
	})
	if err := round1.Wait(); err != nil {
		return TagPage{}, err
	}
	now, prev := counts[q.Tag][0], counts[q.Tag][1]
	page.Count, page.Accounts = now.Posts, now.Accounts
	page.Previous.Count, page.Previous.Accounts = prev.Posts, prev.Accounts
	page.Concentration = conc[q.Tag]
	page.Topics = append([]string{}, topics.TopicsOf(q.Tag)...)
	page.Display, page.Hidden, page.Points = chart[0].Display, chart[0].Hidden, chart[0].Points
	page.RisingSince = RisingSince(page.Points, from, q.At)
	page.CoTags, page.Posts = []CoTag{}, []TagPost{}
	sample := tagSample{TagQuery: q, from: from, to: to, hours: SampleHours(page.Points, from, to, CoTagSample)}
	if len(sample.hours) == 0 {
		return page, nil
	}
	latest, err := s.latestPosts(ctx, sample)
	if err != nil {
		return TagPage{}, err
	}
	page.CoSample = min(page.Count, CoTagSample)
	var round3 errgroup.Group
	round3.Go(func() (err error) {
		page.CoTags, err = s.coTags(ctx, sample)
		return err
	})
	round3.Go(func() (err error) {
		page.Posts, err = s.postDetails(ctx, latest)
		return err
	})
	return page, round3.Wait()
}

// SampleHours returns the hours, newest first, that hold a tag's latest
// need posts in [from, to), from its chart: the steps overlapping the
// window that have posts, newest first, until their counts reach need (or
// the window's start). A day step gives its 24 hours within the window.
func SampleHours(points []Point, from, to time.Time, need uint64) []time.Time {
	var (
		out []time.Time
		got uint64
	)
	for i := len(points) - 1; i >= 0 && got < need; i-- {
		p := points[i]
		if p.Count == 0 || !p.End.After(from) || !p.Time.Before(to) {
			continue
		}
		for h := p.End.Add(-time.Hour); !h.Before(p.Time); h = h.Add(-time.Hour) {
			if h.Before(to) && h.Add(time.Hour).After(from) {
				out = append(out, h)
			}
		}
		got += p.Count
	}
	return out
}

// tagSample is what the reads of a tag's posts share: the query, its
// window and the hours that hold its latest posts.
type tagSample struct {
	TagQuery
	from, to time.Time
	hours    []time.Time
}

// latestSQL selects a tag's latest posts in a window under a filter,
// newest first, with their first mention's account, time, source and
// language, reading only the sample's hours: mentions is ordered by hour,
// then tag, so each hour is a narrow range. Copies of a mention (a replay)
// fold in the GROUP BY, and deleted posts are left out. Its parameters
// are tagSample.args's.
const latestSQL = `SELECT post_id, any(account), min(created_at) AS t, any(source), any(lang)
FROM mentions
WHERE toStartOfHour(created_at) IN (SELECT toDateTime(arrayJoin(@hours)))
  AND tag = @tag AND created_at >= toDateTime(@from) AND created_at < toDateTime(@to){filter}
  AND {live}
GROUP BY post_id
ORDER BY t DESC, post_id DESC
LIMIT @n`

// sql returns latestSQL with the sample's filter.
func (ts tagSample) sql() string {
	return strings.NewReplacer("{filter}", filterSQL(ts.Filter),
		"{live}", rollup.CountedSQL("created_at >= toDateTime(@from) AND created_at < toDateTime(@to)")).Replace(latestSQL)
}

// args binds latestSQL's parameters, for the latest n posts.
func (ts tagSample) args(n int) []any {
	hours := make([]int64, len(ts.hours))
	for i, h := range ts.hours {
		hours[i] = h.Unix()
	}
	return append(filterArgs(ts.Filter), clickhouse.Named("tag", ts.Tag), clickhouse.Named("hours", hours),
		clickhouse.Named("from", ts.from.Unix()), clickhouse.Named("to", ts.to.Unix()), clickhouse.Named("n", n))
}

// latestPosts returns the tag's latest posts, as mentions holds them: no
// URL or excerpt yet.
func (s *Store) latestPosts(ctx context.Context, ts tagSample) ([]TagPost, error) {
	out := []TagPost{}
	err := s.scan(ctx, "the tag's latest posts", ts.sql(), ts.args(ts.Posts), func(scan func(...any) error) error {
		var p TagPost
		if err := scan(&p.ID, &p.Author, &p.CreatedAt, &p.Source, &p.Lang); err != nil {
			return err
		}
		p.CreatedAt = p.CreatedAt.UTC()
		out = append(out, p)
		return nil
	})
	return out, err
}

// postDetails fills in the author, URL and excerpt of posts from the posts
// table, where it holds them (a post stored before the table existed keeps
// its account from mentions as author), and returns posts.
func (s *Store) postDetails(ctx context.Context, posts []TagPost) ([]TagPost, error) {
	if len(posts) == 0 {
		return posts, nil
	}
	ids := make([]string, len(posts))
	first, last := posts[0].CreatedAt, posts[0].CreatedAt
	for i, p := range posts {
		ids[i] = p.ID
		first, last = minTime(first, p.CreatedAt), maxTime(last, p.CreatedAt)
	}
	// The times bound the partitions and hours read; copies of a post
	// fold in LIMIT 1 BY.
	details := map[string]TagPost{}
	err := s.scan(ctx, "the posts' details", `SELECT id, author, url, excerpt
FROM posts
WHERE created_at >= toDateTime(@first) AND created_at <= toDateTime(@last) AND id IN (SELECT arrayJoin(@ids))
ORDER BY inserted_at DESC
LIMIT 1 BY id`, []any{clickhouse.Named("first", first.Unix()), clickhouse.Named("last", last.Unix()), clickhouse.Named("ids", ids)},
		func(scan func(...any) error) error {
			var p TagPost
			if err := scan(&p.ID, &p.Author, &p.URL, &p.Excerpt); err != nil {
				return err
			}
			details[p.ID] = p
			return nil
		})
	if err != nil {
		return nil, err
	}
	for i := range posts {
		d, ok := details[posts[i].ID]
		if !ok {
			continue
		}
		// The stored row says what may be shown: no author, link or text
		// for a post whose author does not allow indexing (its account
		// in mentions is then a pseudonym).
		posts[i].Author, posts[i].URL, posts[i].Excerpt = d.Author, d.URL, d.Excerpt
	}
	return posts, nil
}

// coTags returns the tags most used with the sample's tag among its
// latest CoTagSample posts in the window. Only the sample's hours are
// read.
func (s *Store) coTags(ctx context.Context, ts tagSample) ([]CoTag, error) {
	args := append(ts.args(CoTagSample), clickhouse.Named("limit", CoTagLimit))
	out := []CoTag{}
	err := s.scan(ctx, "co-occurring tags", `SELECT tag, uniqExact(post_id) AS n
FROM mentions
WHERE toStartOfHour(created_at) IN (SELECT toDateTime(arrayJoin(@hours)))
  AND post_id GLOBAL IN (SELECT post_id FROM (`+ts.sql()+`))
  AND tag != @tag`+notHiddenSQL+`
GROUP BY tag
ORDER BY n DESC, tag ASC
LIMIT @limit`, args, func(scan func(...any) error) error {
		var c CoTag
		if err := scan(&c.Tag, &c.Count); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	tags := make([]string, len(out))
	for i, c := range out {
		tags[i] = c.Tag
	}
	displays, err := s.displays(ctx, tags)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Display = displays[out[i].Tag]
	}
	return out, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
