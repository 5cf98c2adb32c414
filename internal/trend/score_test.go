package trend

import (
	"fmt"
	"testing"
	"time"

	"tagpulse/internal/trend/trendtest"
)

// clock is the injected "now" of the scoring tests.
var clock = time.Date(2025, 11, 20, 14, 37, 12, 0, time.UTC)

// slotCounts counts posts into the current window and its baseline, as the
// trending query does in ClickHouse.
func slotCounts(now time.Time, window time.Duration, k int, posts []time.Time) []uint64 {
	f := newFrame(now, window)
	counts := make([]uint64, k+1)
	for _, t := range posts {
		if s := f.slot(t); s >= 0 && s <= k {
			counts[s]++
		}
	}
	return counts
}

func rank(t *testing.T, now time.Time, window time.Duration, tags map[string][]int) []Trend {
	t.Helper()
	p := DefaultParams()
	slots := map[string][]uint64{}
	for tag, perHour := range tags {
		var posts []time.Time
		for _, m := range trendtest.Hourly(tag, tag, time.Unix(newFrame(now, time.Hour).end, 0), perHour, "", "") {
			posts = append(posts, m.At)
		}
		slots[tag] = slotCounts(now, window, p.BaselineWindows, posts)
	}
	return p.Rank(slots, 100)
}

func position(trends []Trend, tag string) int {
	for i, tr := range trends {
		if tr.Tag == tag {
			return i
		}
	}
	return -1
}

func TestBurstOutranksSteadyTag(t *testing.T) {
	rising := append([]int{40}, trendtest.Steady(1, 24)...)
	for _, tc := range []struct {
		name   string
		steady []int
	}{
		{"steady 10 an hour", trendtest.Steady(10, 25)},
		{"steady 10 an hour, a busier last hour", append([]int{18}, trendtest.Steady(10, 24)...)},
		{"steady 10 an hour, only the last day known", trendtest.Steady(10, 24)},
		{"steady 100 an hour", trendtest.Steady(100, 25)},
		{"steady 1000 an hour, last hour +10%", append([]int{1100}, trendtest.Steady(1000, 24)...)},
	} {
		// Shift the clock through an hour so slot edges fall everywhere.
		for _, offset := range []time.Duration{0, 59 * time.Second, 17 * time.Minute, 59 * time.Minute} {
			now := clock.Add(offset)
			t.Run(fmt.Sprintf("%s at %s", tc.name, now.Format("15:04:05")), func(t *testing.T) {
				got := rank(t, now, time.Hour, map[string][]int{"nato": tc.steady, "nif2025": rising})
				r, s := position(got, "nif2025"), position(got, "nato")
				if r != 0 {
					t.Fatalf("rising tag at position %d, want 0; ranking %+v", r, got)
				}
				if s == 0 {
					t.Fatalf("steady tag ranked first: %+v", got)
				}
			})
		}
	}
}

func TestNewTagNeedsMinimumCount(t *testing.T) {
	p := DefaultParams()
	for _, tc := range []struct {
		posts int
		want  bool
	}{
		{0, false}, {1, false}, {2, false}, {4, false}, {5, true}, {20, true},
	} {
		t.Run(fmt.Sprintf("%d posts", tc.posts), func(t *testing.T) {
			got := rank(t, clock, time.Hour, map[string][]int{"brandnew": {tc.posts}})
			if in := position(got, "brandnew") >= 0; in != tc.want {
				t.Fatalf("brand-new tag with %d posts trending = %v, want %v (MinCount %d): %+v", tc.posts, in, tc.want, p.MinCount, got)
			}
		})
	}
}

func TestScore(t *testing.T) {
	p := DefaultParams()
	for _, tc := range []struct {
		name           string
		observed       uint64
		baseline       []uint64
		expected, zmin float64
		zmax           float64
	}{
		{"no history divides by the floor", 5, make([]uint64, 24), 1.0 / 25, 4.95, 4.97},
		{"steady 10", 10, []uint64{10, 10, 10, 10}, 41.0 / 5, 0.5, 0.7},
		{"rise from 1 to 40", 40, []uint64{1, 1, 1, 1}, 1, 38.9, 39.1},
		{"below expectation is negative", 2, []uint64{10, 10, 10, 10}, 41.0 / 5, -2.2, -2.1},
		// A tag that swings between 0 and 40 every window is judged against
		// its spread, not a Poisson variance: 40 again is no surprise.
		{"bursty history", 40, []uint64{0, 40, 0, 40, 0, 40}, 121.0 / 7, 0.9, 1.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expected, z := p.Score(tc.observed, tc.baseline)
			if diff := expected - tc.expected; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("expected = %v, want %v", expected, tc.expected)
			}
			if z < tc.zmin || z > tc.zmax {
				t.Errorf("score = %v, want in [%v, %v]", z, tc.zmin, tc.zmax)
			}
		})
	}
}

func TestFrame(t *testing.T) {
	for _, tc := range []struct {
		at     time.Time
		window time.Duration
		end    string
		start  string
	}{
		{clock, time.Hour, "2025-11-20T14:38:00Z", "2025-11-20T13:38:00Z"},
		{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 15 * time.Minute, "2025-01-01T00:01:00Z", "2024-12-31T23:46:00Z"},
		{clock.In(time.FixedZone("CET", 3600)), 24 * time.Hour, "2025-11-20T14:38:00Z", "2025-11-19T14:38:00Z"},
	} {
		t.Run(tc.at.String(), func(t *testing.T) {
			f := newFrame(tc.at, tc.window)
			if got := time.Unix(f.end, 0).UTC().Format(time.RFC3339); got != tc.end {
				t.Errorf("end = %s, want %s", got, tc.end)
			}
			if got := time.Unix(f.start(0), 0).UTC().Format(time.RFC3339); got != tc.start {
				t.Errorf("start = %s, want %s", got, tc.start)
			}
			if s := f.slot(time.Unix(f.start(0), 0)); s != 0 {
				t.Errorf("slot(start) = %d, want 0", s)
			}
			if s := f.slot(time.Unix(f.start(0)-1, 0)); s != 1 {
				t.Errorf("slot(start-1s) = %d, want 1", s)
			}
			if s := f.slot(time.Unix(f.end, 0)); s != -1 {
				t.Errorf("slot(end) = %d, want -1", s)
			}
		})
	}
}

func TestHistoryWindows(t *testing.T) {
	p := DefaultParams()
	at := clock // 14:37:30; the 1h window is 13:38–14:38
	for _, tc := range []struct {
		name  string
		first string
		want  int
	}{
		// The baseline windows end at 13:00, the hour that holds 13:38.
		{"posts only in the window", "2025-11-20T14:00:00Z", 0},
		{"first at the window's start", "2025-11-20T13:38:00Z", 0},
		{"first at the baseline's end", "2025-11-20T13:00:00Z", 0},
		{"first one window before", "2025-11-20T12:00:00Z", 1},
		{"first within the window before", "2025-11-20T12:01:00Z", 0},
		{"a minute short of 24", "2025-11-19T13:01:00Z", 23},
		{"exactly 24 windows", "2025-11-19T13:00:00Z", 24},
		{"a week", "2025-11-13T00:00:00Z", 24},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, err := time.Parse(time.RFC3339, tc.first)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.HistoryWindows(Extent{First: first, Last: at}, at, time.Hour); got != tc.want {
				t.Errorf("HistoryWindows = %d, want %d", got, tc.want)
			}
		})
	}
	if got := p.HistoryWindows(Extent{Empty: true}, at, time.Hour); got != 0 {
		t.Errorf("no posts: %d, want 0", got)
	}
}

func TestSeriesFrameAlignsToStep(t *testing.T) {
	for _, tc := range []struct {
		at           string
		window, step time.Duration
		from, to     string
	}{
		{"2025-11-20T14:37:30Z", 3 * time.Hour, time.Hour, "2025-11-20T12:00:00Z", "2025-11-20T15:00:00Z"},
		{"2025-11-20T14:00:00Z", time.Hour, time.Hour, "2025-11-20T14:00:00Z", "2025-11-20T15:00:00Z"},
		{"2025-11-20T13:59:59Z", time.Hour, time.Hour, "2025-11-20T13:00:00Z", "2025-11-20T14:00:00Z"},
		{"2025-11-20T14:37:30Z", 7 * 24 * time.Hour, 24 * time.Hour, "2025-11-14T00:00:00Z", "2025-11-21T00:00:00Z"},
		{"2025-11-20T14:37:30Z", time.Hour, 15 * time.Minute, "2025-11-20T13:45:00Z", "2025-11-20T14:45:00Z"},
		{"2025-11-20T14:37:30Z", 10 * time.Minute, time.Minute, "2025-11-20T14:28:00Z", "2025-11-20T14:38:00Z"},
	} {
		t.Run(tc.at+" "+FormatDuration(tc.step), func(t *testing.T) {
			at, err := time.Parse(time.RFC3339, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			from, to := SeriesSpan(at, tc.window, tc.step)
			if got := from.Format(time.RFC3339); got != tc.from {
				t.Errorf("from = %s, want %s", got, tc.from)
			}
			if got := to.Format(time.RFC3339); got != tc.to {
				t.Errorf("to = %s, want %s", got, tc.to)
			}
		})
	}
}
