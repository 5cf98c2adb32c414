package trend

import (
	"testing"
	"time"
)

func TestRisingSince(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	// chart builds hourly points from counts; the window starts at hour
	// `from` of the chart, and the question is asked at `at` hours (a
	// fraction leaves the last step filling).
	chart := func(counts ...uint64) []Point {
		out := make([]Point, len(counts))
		for i, c := range counts {
			out[i] = Point{Time: t0.Add(time.Duration(i) * time.Hour), End: t0.Add(time.Duration(i+1) * time.Hour), Count: c}
		}
		return out
	}
	hour := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	for _, c := range []struct {
		name     string
		points   []Point
		from, at float64
		want     int // the step rising started at, -1 for none
	}{
		{"flat", chart(4, 5, 4, 5, 4, 5), 3, 6, -1},
		{"rise in the window", chart(4, 5, 4, 5, 30, 40), 3, 6, 4},
		{"rise since before the window", chart(4, 4, 4, 4, 4, 30, 35, 40, 45), 6, 9, 5},
		{"a burst that ended", chart(4, 5, 4, 40, 50, 5), 3, 6, -1},
		{"last step still filling and low", chart(4, 5, 4, 30, 40, 2), 3, 5.2, 3},
		{"last step filling and already high", chart(4, 5, 4, 5, 5, 30), 3, 5.5, 5},
		{"last step complete and low", chart(4, 5, 4, 30, 40, 2), 3, 6, -1},
		{"quiet tag: fewer than 3 posts is never high", chart(0, 0, 0, 0, 2, 2), 3, 6, -1},
		{"new tag from nothing", chart(0, 0, 0, 0, 3, 9), 3, 6, 4},
		{"no history before the window", chart(30, 40), 0, 2, -1},
		{"no points", nil, 0, 1, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := RisingSince(c.points, hour(c.from), hour(c.at))
			switch {
			case c.want < 0 && got != nil:
				t.Errorf("rising since %s, want not rising", got)
			case c.want >= 0 && got == nil:
				t.Errorf("not rising, want since step %d", c.want)
			case c.want >= 0 && !got.Equal(hour(float64(c.want))):
				t.Errorf("rising since %s, want %s", got, hour(float64(c.want)))
			}
		})
	}
}

func TestChartSpan(t *testing.T) {
	for _, c := range []struct {
		window, step, span time.Duration
	}{
		{time.Hour, time.Hour, 24 * time.Hour},
		{24 * time.Hour, time.Hour, 48 * time.Hour},
		{90 * time.Minute, time.Hour, 24 * time.Hour},
		{3 * 24 * time.Hour, time.Hour, 6 * 24 * time.Hour},
		{7 * 24 * time.Hour, 24 * time.Hour, 24 * 24 * time.Hour},
		{30 * 24 * time.Hour, 24 * time.Hour, 60 * 24 * time.Hour},
		{90 * 24 * time.Hour, 24 * time.Hour, MaxWindow},
	} {
		if got := ChartStep(c.window); got != c.step {
			t.Errorf("ChartStep(%s) = %s, want %s", c.window, got, c.step)
		}
		if got := ChartSpan(c.window); got != c.span {
			t.Errorf("ChartSpan(%s) = %s, want %s", c.window, got, c.span)
		}
	}
}

func TestSampleHours(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	hours := func(hs ...int) []time.Time {
		var out []time.Time
		for _, h := range hs {
			out = append(out, t0.Add(time.Duration(h)*time.Hour))
		}
		return out
	}
	steps := func(step time.Duration, counts ...uint64) []Point {
		out := make([]Point, len(counts))
		for i, c := range counts {
			out[i] = Point{Time: t0.Add(time.Duration(i) * step), End: t0.Add(time.Duration(i+1) * step), Count: c}
		}
		return out
	}
	day := 24 * time.Hour
	for _, c := range []struct {
		name     string
		points   []Point
		from, to time.Time
		need     uint64
		want     []time.Time
	}{
		{"newest hours until enough", steps(time.Hour, 5, 5, 5, 5), t0, t0.Add(4 * time.Hour), 8, hours(3, 2)},
		{"empty hours skipped", steps(time.Hour, 5, 0, 0, 3), t0, t0.Add(4 * time.Hour), 8, hours(3, 0)},
		{"not enough: every hour with posts", steps(time.Hour, 1, 0, 1, 0), t0, t0.Add(4 * time.Hour), 100, hours(2, 0)},
		{"only within the window", steps(time.Hour, 5, 5, 5, 5), t0.Add(2 * time.Hour), t0.Add(4 * time.Hour), 100, hours(3, 2)},
		{"a step overlapping the window's start counts", steps(time.Hour, 5, 5, 5, 5), t0.Add(90 * time.Minute), t0.Add(4 * time.Hour), 100, hours(3, 2, 1)},
		{"a day step gives its hours in the window", steps(day, 0, 7), t0.Add(day + 20*time.Hour), t0.Add(day + 22*time.Hour + 30*time.Minute), 100, hours(46, 45, 44)},
		{"no posts", steps(time.Hour, 0, 0), t0, t0.Add(2 * time.Hour), 10, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := SampleHours(c.points, c.from, c.to, c.need)
			if len(got) != len(c.want) {
				t.Fatalf("hours %v, want %v", got, c.want)
			}
			for i := range got {
				if !got[i].Equal(c.want[i]) {
					t.Fatalf("hours %v, want %v", got, c.want)
				}
			}
		})
	}
}
