package chstore_test

import (
	"context"
	"math"
	"testing"
	"time"

	"tagpulse/internal/testkit/stacktest"
)

// TestAccountsSketchError checks the bound docs/schema-v2.md promises for
// distinct accounts: uniqCombined(15), the sketch the v2 rollups keep per
// bucket, stays within 2% of the true number of accounts up to 1M
// accounts, both as one state and as the merge of the per-hour states of a
// 30-day window in which each account posts in several hours (what a read
// over the hour and day tiers does). It runs on the server the harness
// names, so scripts/test checks it on both ClickHouse versions.
func TestAccountsSketchError(t *testing.T) {
	_, conn := stacktest.ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const maxRelErr = 0.02
	cases := []struct {
		name     string
		accounts uint64
		// rows is how many posts are spread over 720 hourly states; each
		// account writes rows/accounts of them, in different hours.
		rows uint64
		sql  string
	}{
		{"one state, 1k accounts", 1_000, 1_000, oneState},
		{"one state, 100k accounts", 100_000, 100_000, oneState},
		{"one state, 1M accounts", 1_000_000, 1_000_000, oneState},
		{"720 hourly states merged, 1M accounts in 3M posts", 1_000_000, 3_000_000, mergedStates},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var est uint64
			if err := conn.QueryRow(ctx, c.sql, c.accounts, c.rows).Scan(&est); err != nil {
				t.Fatalf("estimating %d accounts: %v", c.accounts, err)
			}
			rel := math.Abs(float64(est)-float64(c.accounts)) / float64(c.accounts)
			t.Logf("%d accounts estimated as %d (%.3f%%)", c.accounts, est, rel*100)
			if rel > maxRelErr {
				t.Errorf("%d accounts estimated as %d: error %.2f%%, want at most %.0f%%", c.accounts, est, rel*100, maxRelErr*100)
			}
		})
	}
}

// The account names look like the ones the rollups see: author handles,
// and "post:ID" for a post without an author.
const (
	oneState = `SELECT toUInt64(uniqCombined(15)(if(number % 10 = 0, concat('post:', toString(number)), concat('acct:', toString(number % ?)))))
FROM numbers(?)`
	mergedStates = `SELECT toUInt64(uniqCombinedMerge(15)(s)) FROM (
    SELECT number % 720 AS hour, uniqCombinedState(15)(concat('acct:', toString(number % ?))) AS s
    FROM numbers(?)
    GROUP BY hour)`
)
