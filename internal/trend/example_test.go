package trend_test

import (
	"fmt"
	"time"

	"tagpulse/internal/trend"
)

// Score compares a tag's count in the current window with what its own
// history predicts. A tag seen about 10 times an hour for a day scores
// nothing special at 12; a tag seen twice in a day scores high at 12. The
// expectation includes the prior (one post in one more window), which is
// why the steady tag expects a little under 10.
func ExampleParams_Score() {
	p := trend.DefaultParams()
	steady := []uint64{9, 11, 10, 10, 12, 8, 10, 11, 9, 10, 10, 10, 9, 11, 10, 10, 12, 8, 10, 11, 9, 10, 10, 10}
	quiet := make([]uint64, 24)
	quiet[5], quiet[17] = 1, 1
	for _, tag := range []struct {
		name    string
		history []uint64
	}{{"steady", steady}, {"quiet", quiet}} {
		expected, score := p.Score(12, tag.history)
		fmt.Printf("%s: expected %.2f, score %.1f, trends %v\n", tag.name, expected, score, p.Trends(12, score))
	}
	// Output:
	// steady: expected 9.64, score 0.8, trends false
	// quiet: expected 0.12, score 11.9, trends true
}

// Rank turns the counts of each tag per window (the current one first,
// then the 24 before it) into the trending list: tags below MinCount posts
// or MinScore are left out.
func ExampleParams_Rank() {
	history := func(now uint64, before uint64) []uint64 {
		counts := []uint64{now}
		for i := 0; i < 24; i++ {
			counts = append(counts, before)
		}
		return counts
	}
	slots := map[string][]uint64{
		"nif2025": history(40, 1),   // a burst over a quiet history
		"nato":    history(10, 10),  // as usual
		"drones":  history(3, 0),    // new, but only 3 posts
		"otan":    history(12, 4),   // three times its usual
		"meteo":   history(100, 90), // big: 100 against 86 expected, 1.46 deviations
	}
	for _, t := range trend.DefaultParams().Rank(slots, 10) {
		fmt.Printf("%-8s count %3d expected %6.2f score %6.2f\n", t.Tag, t.Count, t.Expected, t.Score)
	}
	// Output:
	// nif2025  count  40 expected   1.00 score  39.00
	// otan     count  12 expected   3.88 score   4.12
	// meteo    count 100 expected  86.44 score   1.46
}

// ParseDuration reads windows the way people write them, days included;
// Query.Validate says what is out of bounds.
func ExampleParseDuration() {
	for _, s := range []string{"15m", "1h30m", "7d", "100d", "90s"} {
		d, err := trend.ParseDuration(s)
		if err != nil {
			fmt.Println(s, err)
			continue
		}
		q := trend.Query{At: time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC), Window: d, Limit: 20}
		if err := q.Validate(); err != nil {
			fmt.Println(s, "->", err)
			continue
		}
		fmt.Println(s, "->", trend.FormatDuration(d))
	}
	// Output:
	// 15m -> 15m
	// 1h30m -> 90m
	// 7d -> 7d
	// 100d -> window must be between 1m and 90d, got 100d
	// 90s -> window must be a whole number of minutes, got 1m30s
}

// HistoryWindows says how many of the 24 windows a score compares with
// hold stored posts. After importing a week of posts, an hourly window has
// all 24 behind it, a daily window only 6: its scores cannot yet tell a
// burst from a normal day, and the answers say so (enough_history false).
// The baseline windows of a daily window end at the midnight before it.
func ExampleParams_HistoryWindows() {
	p := trend.DefaultParams()
	at := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	imported := trend.Extent{First: at.Add(-7 * 24 * time.Hour), Last: at}
	for _, window := range []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour} {
		from, to := trend.Span(at, window)
		n := p.HistoryWindows(imported, at, window)
		fmt.Printf("%-3s %s–%s: %2d of %d earlier windows, enough %v\n", trend.FormatDuration(window),
			from.Format("02 15:04"), to.Format("02 15:04"), n, p.BaselineWindows, n >= p.BaselineWindows)
	}
	// Output:
	// 1h  20 13:38–20 14:38: 24 of 24 earlier windows, enough true
	// 6h  20 08:38–20 14:38: 24 of 24 earlier windows, enough true
	// 1d  19 14:38–20 14:38:  5 of 24 earlier windows, enough false
}

// SeriesSpan shows how series steps are aligned to the step: a 6-hour
// chart by the hour, asked at 14:37, runs from 09:00 to 15:00, its last
// step (14:00–15:00) not over yet.
func ExampleSeriesSpan() {
	at := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	from, to := trend.SeriesSpan(at, 6*time.Hour, time.Hour)
	fmt.Println(from.Format(time.RFC3339), "to", to.Format(time.RFC3339))
	// Output:
	// 2025-11-20T09:00:00Z to 2025-11-20T15:00:00Z
}
