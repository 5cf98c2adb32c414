package topicsuggest_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"tagpulse/internal/testkit/readbench"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/topicsuggest"
)

// BenchmarkSuggest times Suggest over 30 days of make bench's synthetic
// history (internal/testkit/readbench: Zipf-like tags and authors drawn
// independently, so no pair is related). TAGPULSE_BENCH_SUGGEST_POSTS sets
// its size, 2,000,000 posts by default; loading it is not timed. Pairs
// reports how many pairs were suggested: any is a false positive.
//
//	go test -run '^$' -bench Suggest -benchtime 5x ./internal/topicsuggest
func BenchmarkSuggest(b *testing.B) {
	posts := 2_000_000
	if v := os.Getenv("TAGPULSE_BENCH_SUGGEST_POSTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("TAGPULSE_BENCH_SUGGEST_POSTS=%q: want a positive number of posts", v)
		}
		posts = n
	}
	_, conn := stacktest.MigratedClickHouse(b)
	ctx := context.Background()
	end := time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC)
	start := time.Now()
	if err := (readbench.History{Posts: posts, Days: 30, End: end}).Load(ctx, conn); err != nil {
		b.Fatalf("loading %d posts: %v", posts, err)
	}
	b.Logf("loaded %d posts in %s", posts, time.Since(start).Round(time.Second))
	// A stored history's parts are merged; a history loaded a moment ago
	// is hundreds of parts being merged, which the reads would pay for.
	start = time.Now()
	for {
		var merging, parts uint64
		if err := conn.QueryRow(ctx, "SELECT (SELECT count() FROM system.merges WHERE database = currentDatabase()), "+
			"(SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = 'mentions' AND active)").Scan(&merging, &parts); err != nil {
			b.Fatalf("reading the merges: %v", err)
		}
		if merging == 0 || time.Since(start) > 10*time.Minute {
			b.Logf("waited %s for merges: %d merging, %d parts of mentions", time.Since(start).Round(time.Second), merging, parts)
			break
		}
		time.Sleep(5 * time.Second)
	}
	b.ResetTimer()
	var pairs []topicsuggest.Pair
	for b.Loop() {
		var err error
		if pairs, err = topicsuggest.Suggest(ctx, conn, topicsuggest.Query{At: end.Add(-time.Second)}); err != nil {
			b.Fatalf("Suggest: %v", err)
		}
	}
	b.ReportMetric(float64(len(pairs)), "pairs")
	for _, p := range pairs {
		b.Logf("%+v", p)
	}
}
