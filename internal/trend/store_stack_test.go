package trend

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/chstore"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/trend/trendtest"
)

// newTestStore gives a test its own migrated database holding the story.
func newTestStore(t *testing.T, at time.Time) (*Store, trendtest.Story) {
	t.Helper()
	cfg, conn := stacktest.ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := chstore.Migrate(ctx, cfg); err != nil {
		t.Fatalf("migrating test database: %v", err)
	}
	story := trendtest.NewStory(time.Unix(newFrame(at, time.Hour).end, 0))
	trendtest.Insert(t, conn, story.Mentions)
	// A replayed copy of some posts must not change any count.
	trendtest.Insert(t, conn, story.Mentions[:50])
	return NewStore(conn, DefaultParams()), story
}

func matches(m trendtest.Mention, f Filter) bool {
	return (f.Source == "" || m.Source == f.Source) && (f.Lang == "" || m.Lang == f.Lang)
}

// wantTop counts the story's posts per tag in Go.
func wantTop(ms []trendtest.Mention, q Query) []Count {
	f := newFrame(q.At, q.Window)
	posts := map[string]map[string]bool{}
	for _, m := range ms {
		if f.slot(m.At) != 0 || !matches(m, q.Filter) {
			continue
		}
		if posts[m.Tag] == nil {
			posts[m.Tag] = map[string]bool{}
		}
		posts[m.Tag][m.PostID] = true
	}
	out := []Count{}
	for tag, p := range posts {
		out = append(out, Count{Tag: tag, Count: uint64(len(p))})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Tag < out[j].Tag
	})
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

var displays = map[string]string{"nato": "NATO", "nif2025": "NIF2025", "otan": "OTAN"}

func TestTop(t *testing.T) {
	at := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	store, story := newTestStore(t, at)
	for _, tc := range []struct {
		name string
		q    Query
		tags []string
	}{
		{"last hour", Query{Window: time.Hour, Limit: 20}, []string{"nif2025", "nato", "otan"}},
		{"last day", Query{Window: 24 * time.Hour, Limit: 20}, []string{"nato", "nif2025", "otan"}},
		{"limit", Query{Window: time.Hour, Limit: 2}, []string{"nif2025", "nato"}},
		{"source", Query{Window: time.Hour, Limit: 20, Filter: Filter{Source: "rss"}}, []string{"nato"}},
		{"lang", Query{Window: 2 * time.Hour, Limit: 20, Filter: Filter{Lang: "fr"}}, []string{"nif2025", "otan"}},
		{"both filters, no match", Query{Window: time.Hour, Limit: 20, Filter: Filter{Source: "rss", Lang: "fr"}}, nil},
		{"quoted filter is a value", Query{Window: time.Hour, Limit: 20, Filter: Filter{Source: "x' OR 1=1 --"}}, nil},
		{"15 minutes", Query{Window: 15 * time.Minute, Limit: 20}, []string{"nif2025", "nato"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.At = at
			got, err := store.Top(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			want := wantTop(story.Mentions, tc.q)
			if len(got) != len(want) {
				t.Fatalf("got %d tags %+v, want %+v", len(got), got, want)
			}
			for i := range want {
				if got[i].Tag != want[i].Tag || got[i].Count != want[i].Count {
					t.Errorf("#%d = %s %d, want %s %d", i, got[i].Tag, got[i].Count, want[i].Tag, want[i].Count)
				}
				if got[i].Display != displays[got[i].Tag] {
					t.Errorf("display of %s = %q, want %q", got[i].Tag, got[i].Display, displays[got[i].Tag])
				}
				if i < len(tc.tags) && got[i].Tag != tc.tags[i] {
					t.Errorf("#%d = %s, want %s", i, got[i].Tag, tc.tags[i])
				}
			}
			if len(got) != len(tc.tags) {
				t.Errorf("got %d tags, want %v", len(got), tc.tags)
			}
		})
	}
}

func TestTrending(t *testing.T) {
	at := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	store, story := newTestStore(t, at)
	p := DefaultParams()
	q := Query{At: at, Window: time.Hour, Limit: 20}
	got, err := store.Trending(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	// The same scoring over slot counts made in Go from the story.
	slots := map[string][]uint64{}
	for _, tag := range []string{"nato", "nif2025", "otan"} {
		var posts []time.Time
		for _, m := range story.Mentions {
			if m.Tag == tag {
				posts = append(posts, m.At)
			}
		}
		slots[tag] = alignedSlotCounts(at, time.Hour, p.BaselineWindows, posts)
	}
	want := p.Rank(slots, q.Limit)
	if len(got) == 0 || got[0].Tag != "nif2025" {
		t.Fatalf("trending = %+v, want nif2025 first", got)
	}
	if len(got) != len(want) {
		t.Fatalf("trending = %+v, want %+v", got, want)
	}
	for i := range want {
		w := want[i]
		w.Display = displays[w.Tag]
		// The story's 25 hours cover the current window and all 24
		// before it.
		w.HistoryWindows, w.EnoughHistory = 24, true
		// The story's posts have no author: each is its own account, so
		// its top account wrote one of its posts, and it has no instance.
		w.Accounts, w.By = w.Count, ByAccounts
		w.TopAccountShare = round(1/float64(w.Count), 3)
		if !reflect.DeepEqual(got[i], w) {
			t.Errorf("#%d = %+v, want %+v", i, got[i], w)
		}
	}
	if got[0].Count != 40 || got[0].Expected != 1 {
		t.Errorf("nif2025 count %d expected %v, want 40 and 1", got[0].Count, got[0].Expected)
	}

	t.Run("filtered out", func(t *testing.T) {
		got, err := store.Trending(context.Background(), Query{At: at, Window: time.Hour, Limit: 20, Filter: Filter{Source: "rss"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("trending from rss = %+v, want none (nato is steady)", got)
		}
	})
}

func TestSeries(t *testing.T) {
	at := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	store, story := newTestStore(t, at)
	q := SeriesQuery{At: at, Window: 3 * time.Hour, Step: 30 * time.Minute, Tags: []string{"#nif2025", "nato", "unknown"}}
	got, err := store.Series(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d series, want 3", len(got))
	}
	// Steps are aligned to half hours: the series covers 12:00 to 15:00,
	// its last step (14:30–15:00) holding the query time.
	f := newSeriesFrame(at, q.Window, q.Step)
	step := frame{end: f.end, window: int64(q.Step / time.Second)}
	first := time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC)
	for i, tag := range []string{"nif2025", "nato", "unknown"} {
		s := got[i]
		if s.Tag != tag {
			t.Fatalf("series %d is %s, want %s", i, s.Tag, tag)
		}
		if len(s.Points) != 6 {
			t.Fatalf("%s: %d points, want 6", tag, len(s.Points))
		}
		var want [6]uint64
		for _, m := range story.Mentions {
			if m.Tag == tag && f.slot(m.At) == 0 {
				want[5-step.slot(m.At)]++
			}
		}
		var total uint64
		for j, p := range s.Points {
			if p.Count != want[j] {
				t.Errorf("%s point %d (%s) = %d, want %d", tag, j, p.Time, p.Count, want[j])
			}
			if wantTime := first.Add(time.Duration(j) * q.Step); !p.Time.Equal(wantTime) || !p.End.Equal(wantTime.Add(q.Step)) {
				t.Errorf("%s point %d from %s to %s, want from %s to %s", tag, j, p.Time, p.End, wantTime, wantTime.Add(q.Step))
			}
			total += p.Count
		}
		if tag == "nif2025" && (total != 41 || s.Display != "NIF2025") {
			// 40 in 13:38–14:38 and one an hour before, at 12:38.
			t.Errorf("nif2025 total %d, display %q; want 41 and NIF2025", total, s.Display)
		}
		if tag == "unknown" && (total != 0 || s.Display != "unknown") {
			t.Errorf("unknown tag: total %d display %q, want 0 and the tag", total, s.Display)
		}
	}
}

func TestValidation(t *testing.T) {
	at := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"window too short", Query{At: at, Window: 30 * time.Second, Limit: 1}.Validate()},
		{"window too long", Query{At: at, Window: 91 * 24 * time.Hour, Limit: 1}.Validate()},
		{"window not whole minutes", Query{At: at, Window: 90 * time.Second, Limit: 1}.Validate()},
		{"limit 0", Query{At: at, Window: time.Hour, Limit: 0}.Validate()},
		{"limit 1001", Query{At: at, Window: time.Hour, Limit: 1001}.Validate()},
		{"no time", Query{Window: time.Hour, Limit: 1}.Validate()},
		{"long source", Query{At: at, Window: time.Hour, Limit: 1, Filter: Filter{Source: string(make([]byte, 65))}}.Validate()},
		{"no tags", (&SeriesQuery{At: at, Window: time.Hour, Step: time.Minute}).Validate()},
		{"empty tag", (&SeriesQuery{At: at, Window: time.Hour, Step: time.Minute, Tags: []string{"#"}}).Validate()},
		{"step not dividing", (&SeriesQuery{At: at, Window: time.Hour, Step: 7 * time.Minute, Tags: []string{"a"}}).Validate()},
		{"too many points", (&SeriesQuery{At: at, Window: 2 * 24 * time.Hour, Step: time.Minute, Tags: []string{"a"}}).Validate()},
		{"too many tags", (&SeriesQuery{At: at, Window: time.Hour, Step: time.Minute, Tags: make([]string, 51)}).Validate()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(tc.err, ErrInvalidQuery) {
				t.Fatalf("error %v does not wrap ErrInvalidQuery", tc.err)
			}
		})
	}
	if err := (Query{At: at, Window: 90 * 24 * time.Hour, Limit: 1000}).Validate(); err != nil {
		t.Errorf("largest query rejected: %v", err)
	}
}

// On a fresh import (posts of the last 90 minutes only) every tag with
// enough posts trends, and the answer says the history is short.
func TestTrendingWithoutHistory(t *testing.T) {
	at := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	_, conn := stacktest.MigratedClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	end := time.Unix(newFrame(at, time.Hour).end, 0)
	trendtest.Insert(t, conn, trendtest.Since(trendtest.NewStory(end).Mentions, end.Add(-90*time.Minute)))
	store := NewStore(conn, DefaultParams())
	got, err := store.Trending(ctx, Query{At: at, Window: time.Hour, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("trending = %+v, want nif2025 and nato: with no history, every tag of 5 posts or more trends", got)
	}
	for _, tr := range got {
		if tr.HistoryWindows != 0 || tr.EnoughHistory {
			t.Errorf("%s: history_windows %d, enough_history %v; want 0 and false", tr.Tag, tr.HistoryWindows, tr.EnoughHistory)
		}
	}
	got, err = store.Trending(ctx, Query{At: at, Window: 30 * time.Minute, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0].HistoryWindows != 2 || got[0].EnoughHistory {
		t.Errorf("30m window = %+v, want history_windows 2 of 24, not enough", got)
	}
}

func TestExtentAndFilters(t *testing.T) {
	at := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	store, _ := newTestStore(t, at)
	ctx := context.Background()
	ext, err := store.Extent(ctx, Filter{Source: "file"})
	if err != nil {
		t.Fatal(err)
	}
	want := Extent{First: time.Date(2025, 11, 19, 12, 38, 0, 0, time.UTC), Last: time.Date(2025, 11, 20, 14, 36, 0, 0, time.UTC)}
	if ext != want {
		t.Errorf("extent of file = %+v, want %+v", ext, want)
	}
	if ext, err := store.Extent(ctx, Filter{Source: "nowhere"}); err != nil || !ext.Empty {
		t.Errorf("extent of an unknown source = %+v, %v; want empty", ext, err)
	}
	for _, tc := range []struct {
		f    Filter
		want string // "" for no error
	}{
		{Filter{}, ""},
		{Filter{Source: "rss", Lang: "en"}, ""},
		{Filter{Source: "file-1"}, `no posts have source "file-1"; the posts stored have source "file", "rss"`},
		{Filter{Lang: "de"}, `no posts have lang "de"; the posts stored have lang "en", "fr"`},
	} {
		err := store.CheckFilter(ctx, tc.f)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v, want no error", tc.f, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want || !errors.Is(err, ErrUnknownFilter) || !errors.Is(err, ErrInvalidQuery)):
			t.Errorf("%+v: %v, want %q matching ErrUnknownFilter", tc.f, err, tc.want)
		}
	}
}

// Asked before any migration, a query says the schema is missing.
func TestQueryBeforeMigration(t *testing.T) {
	_, conn := stacktest.ClickHouse(t)
	store := NewStore(conn, DefaultParams())
	_, err := store.Top(context.Background(), Query{At: time.Now(), Window: time.Hour, Limit: 1})
	if !errors.Is(err, ErrNoSchema) || !strings.Contains(err.Error(), "aggregate migrate") {
		t.Fatalf("top before migration: %v, want ErrNoSchema naming aggregate migrate", err)
	}
}

// alignedSlotCounts counts posts per slot of a trending query made in Go:
// the current window, then the baseline windows aligned to the bucket of
// the window's start (trendSlots).
func alignedSlotCounts(at time.Time, window time.Duration, k int, posts []time.Time) []uint64 {
	counts := make([]uint64, k+1)
	for i, sl := range trendSlots(at, window, k) {
		for _, t := range posts {
			if !t.Before(sl.from) && t.Before(sl.to) {
				counts[i]++
			}
		}
	}
	return counts
}
