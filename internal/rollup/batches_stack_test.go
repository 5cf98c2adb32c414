package rollup_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tagpulse/internal/chstore"
	"tagpulse/internal/rollup"
	"tagpulse/internal/testkit/stacktest"
)

// TestBatchesBoundRowsAndDays groups days by the rows mentions holds for
// them: never more than the bound unless one day alone is, never more
// than maxBatchDays days, in order.
func TestBatchesBoundRowsAndDays(t *testing.T) {
	t.Parallel()
	_, conn := stacktest.MigratedClickHouse(t)
	ctx := context.Background()
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	perDay := []int{30, 30, 100, 10, 10, 10} // rows of mentions per day
	var rows []chstore.Mention
	for d, n := range perDay {
		for i := range n {
			rows = append(rows, chstore.Mention{PostID: fmt.Sprintf("d%d-%d", d, i), Tag: "t", CreatedAt: first.Add(time.Duration(d)*24*time.Hour + time.Minute), InsertedAt: time.Now().UTC()})
		}
	}
	if err := chstore.InsertMentions(ctx, conn, rows); err != nil {
		t.Fatal(err)
	}
	var days []time.Time
	for d := range perDay {
		days = append(days, first.Add(time.Duration(d)*24*time.Hour))
	}
	w := rollup.NewWorker(conn, nil, nil)
	w.SetBatchRows(60)
	got, err := w.Batches(ctx, days)
	if err != nil {
		t.Fatal(err)
	}
	want := "[[1 2] [3] [4 5 6]]" // days by number: 30+30, 100 alone, 10+10+10
	if s := dayNumbers(first, got); s != want {
		t.Errorf("batches %s, want %s", s, want)
	}
	var many []time.Time
	for d := range 70 {
		many = append(many, first.Add(time.Duration(d)*24*time.Hour))
	}
	got, err = w.Batches(ctx, many)
	if err != nil {
		t.Fatal(err)
	}
	// 1-2, 3, then 31 days at a time: the days after the sixth are empty.
	var sizes []int
	for _, b := range got {
		sizes = append(sizes, len(b))
	}
	if fmt.Sprint(sizes) != fmt.Sprint([]int{2, 1, rollup.MaxBatchDays, rollup.MaxBatchDays, 70 - 3 - 2*rollup.MaxBatchDays}) {
		t.Errorf("70 days in batches of %v days", sizes)
	}
}

func dayNumbers(first time.Time, batches [][]time.Time) string {
	out := make([][]int, len(batches))
	for i, b := range batches {
		for _, d := range b {
			out[i] = append(out[i], int(d.Sub(first)/(24*time.Hour))+1)
		}
	}
	return fmt.Sprint(out)
}
