package trend

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"tagpulse/internal/hashtag"
	"tagpulse/internal/topic"
)

// Bounds on what a query may ask for, so that no request can make
// ClickHouse scan or return without limit.
const (
	MinWindow    = time.Minute
	MaxWindow    = 90 * 24 * time.Hour
	MaxLimit     = 1000
	MaxPoints    = 1440
	MaxTags      = 50
	MaxTagBytes  = hashtag.MaxTagBytes // the bound tags are made with
	MaxFilterLen = 64

	DefaultWindow = time.Hour
	DefaultLimit  = 20
)

// ErrInvalidQuery matches every validation error (errors.Is), so servers
// can answer 400 with the error's message, which says what to change.
var ErrInvalidQuery = errors.New("invalid query")

type queryError struct{ msg string }

func (e *queryError) Error() string        { return e.msg }
func (e *queryError) Is(target error) bool { return target == ErrInvalidQuery }

func invalid(format string, args ...any) error {
	return &queryError{msg: fmt.Sprintf(format, args...)}
}

// Filter narrows counts to one source and/or one language; an empty field
// does not filter.
type Filter struct {
	Source string
	Lang   string
}

func (f Filter) validate() error {
	for _, v := range []struct{ name, value string }{{"source", f.Source}, {"lang", f.Lang}} {
		if len(v.value) > MaxFilterLen || !utf8.ValidString(v.value) {
			return invalid("%s must be valid UTF-8 of at most %d bytes", v.name, MaxFilterLen)
		}
	}
	return nil
}

// Query asks for the tags of the window of length Window that ends with the
// minute containing At (the current, partial minute is included).
type Query struct {
	At     time.Time
	Window time.Duration
	Limit  int
	// By is what trending ranks on (top always ranks on posts); empty is
	// ByAccounts.
	By By
	// IncludeConcentrated keeps in trending the tags one account or one
	// instance makes concentrated (Concentration), flagged; by default
	// they are left out.
	IncludeConcentrated bool
	// Topics counts topics (the distinct posts carrying any of a topic's
	// tags, internal/topic) instead of tags.
	Topics bool
	Filter
}

// Validate checks the bounds of the query.
func (q Query) Validate() error {
	if err := validateWindow(q.Window); err != nil {
		return err
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return invalid("limit must be between 1 and %d, got %d", MaxLimit, q.Limit)
	}
	if _, err := ParseBy(string(q.By)); err != nil {
		return err
	}
	if err := validateAt(q.At, q.Window); err != nil {
		return err
	}
	return q.Filter.validate()
}

func validateWindow(w time.Duration) error {
	if w < MinWindow || w > MaxWindow {
		return invalid("window must be between %s and %s, got %s", FormatDuration(MinWindow), FormatDuration(MaxWindow), FormatDuration(w))
	}
	if w%time.Minute != 0 {
		return invalid("window must be a whole number of minutes, got %s", w)
	}
	return nil
}

// SeriesQuery asks for the counts of Tags per Step over the window of
// length Window that ends with the step containing At's minute. Steps are
// aligned to whole multiples of Step since the Unix epoch (whole hours for
// 1h, UTC midnights for 1d), so the last step may reach past At.
type SeriesQuery struct {
	At     time.Time
	Window time.Duration
	Step   time.Duration
	// Tags are the tags asked for, or the topics' names with Topics.
	Tags   []string
	Topics bool
	Filter
}

// Validate checks the bounds of the query and normalises the tags: a
// leading # is dropped and duplicates are removed.
func (q *SeriesQuery) Validate() error {
	if err := validateWindow(q.Window); err != nil {
		return err
	}
	if q.Step < time.Minute || q.Step%time.Minute != 0 {
		return invalid("step must be a whole number of minutes, at least 1m, got %s", q.Step)
	}
	if q.Window%q.Step != 0 {
		return invalid("window %s must be a whole number of steps of %s", FormatDuration(q.Window), FormatDuration(q.Step))
	}
	if n := q.Window / q.Step; n > MaxPoints {
		return invalid("window / step must be at most %d points, got %d", MaxPoints, n)
	}
	if err := validateAt(q.At, q.Window); err != nil {
		return err
	}
	if f := newSeriesFrame(q.At, q.Window, q.Step); f.end > MaxTime.Unix() {
		return invalid("at %s: the last step of %s ending then must end by %s",
			q.At.UTC().Format(time.RFC3339), FormatDuration(q.Step), MaxTime.Format(time.RFC3339))
	}
	if q.Topics {
		if err := checkTopics(q.Tags); err != nil {
			return err
		}
		return q.Filter.validate()
	}
	tags, err := NormaliseTags(q.Tags)
	if err != nil {
		return err
	}
	q.Tags = tags
	return q.Filter.validate()
}

// NormaliseTags drops a leading # (or fullwidth ＃) from each tag, turns
// it into its canonical key (so "Réarmement" finds "rearmement") and
// removes duplicates, keeping the order.
func NormaliseTags(tags []string) ([]string, error) {
	if len(tags) == 0 {
		return nil, invalid("at least one tag is required")
	}
	if len(tags) > MaxTags {
		return nil, invalid("at most %d tags, got %d", MaxTags, len(tags))
	}
	seen := make(map[string]bool, len(tags))
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(strings.TrimPrefix(t, "#"), "＃")
		if t == "" || len(t) > MaxTagBytes || !utf8.ValidString(t) {
			return nil, invalid("tag must be non-empty valid UTF-8 of at most %d bytes", MaxTagBytes)
		}
		t = hashtag.Canonical(t)
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// frame is the time arithmetic shared by the queries, in Unix seconds:
// windows end at the end of the minute containing the query time, so the
// current, partial minute counts.
type frame struct {
	end    int64 // exclusive
	window int64 // seconds
}

func newFrame(at time.Time, window time.Duration) frame {
	end := at.Unix() - mod(at.Unix(), 60) + 60
	return frame{end: end, window: int64(window / time.Second)}
}

// newSeriesFrame is the frame of a series: its end is the end of the step
// that contains at's minute, steps counted from the Unix epoch.
func newSeriesFrame(at time.Time, window, step time.Duration) frame {
	f := newFrame(at, window)
	st := int64(step / time.Second)
	f.end += mod(-f.end, st)
	return f
}

// Span returns the times a window of length window asked at at covers:
// from its first minute (inclusive) to the end of at's minute (exclusive),
// in UTC. Top and trending count exactly these minutes.
func Span(at time.Time, window time.Duration) (from, to time.Time) {
	f := newFrame(at, window)
	return time.Unix(f.start(0), 0).UTC(), time.Unix(f.end, 0).UTC()
}

// SeriesSpan returns the times a series covers: from the start of its
// first step to the end of its last, in UTC.
func SeriesSpan(at time.Time, window, step time.Duration) (from, to time.Time) {
	f := newSeriesFrame(at, window, step)
	return time.Unix(f.start(0), 0).UTC(), time.Unix(f.end, 0).UTC()
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// start returns the start of the window that ends slots windows before the
// current one ends (slots = 0 is the current window).
func (f frame) start(slots int) int64 { return f.end - int64(slots+1)*f.window }

// slot returns which window t falls in: 0 for the current one, 1 for the
// one before, and so on; -1 for times at or after the end.
func (f frame) slot(t time.Time) int {
	d := f.end - t.Unix()
	if d <= 0 {
		return -1
	}
	return int((d - 1) / f.window)
}

// FormatDuration prints durations the way people write windows: 90d, 1h,
// 15m.
func FormatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	if d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	if d >= time.Minute && d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// ParseDuration reads a window or a step: Go durations ("90m", "1h30m")
// plus whole days ("7d", "90d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok && days != "" && !strings.ContainsAny(days, "hmsuµn") {
		var n int64
		if _, err := fmt.Sscanf(days, "%d", &n); err != nil || fmt.Sprint(n) != days || n < 0 || n > 100000 {
			return 0, invalid("duration %q: want for example 15m, 1h or 7d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, invalid("duration %q: want for example 15m, 1h or 7d", s)
	}
	return d, nil
}

// checkTopics checks the names of a series' topics (topic.CheckName).
func checkTopics(names []string) error {
	if len(names) == 0 {
		return invalid("at least one topic is required")
	}
	if len(names) > MaxTags {
		return invalid("at most %d topics, got %d", MaxTags, len(names))
	}
	for _, n := range names {
		if err := topic.CheckName(n); err != nil {
			return invalid("%v", err)
		}
	}
	return nil
}
