package rollup_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chstore"
	"tagpulse/internal/rollup"
	"tagpulse/internal/testkit/stacktest"
)

// history inserts n posts spread over the three days before today's
// current hour and the current hour itself, with accounts a0…a9 (every
// fifth post without one) and two tags each, starting at post id first.
func history(t *testing.T, conn driver.Conn, first, n int, end time.Time) {
	t.Helper()
	var rows []chstore.Mention
	start := end.Add(-72 * time.Hour)
	span := end.Add(30 * time.Minute).Sub(start)
	for i := first; i < first+n; i++ {
		at := start.Add(time.Duration(i*7919%n) * span / time.Duration(n)).Truncate(time.Second)
		account := fmt.Sprintf("a%d", i%10)
		if i%5 == 0 {
			account = ""
		}
		for _, tag := range []string{fmt.Sprintf("t%d", i%7), "all"} {
			rows = append(rows, chstore.Mention{PostID: fmt.Sprintf("p%d", i), Account: account, Tag: tag, Display: tag,
				CreatedAt: at, Source: []string{"rss", "mastodon"}[i%2], Lang: "en", ExtractorVersion: 1, InsertedAt: time.Now().UTC()})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := chstore.InsertMentions(ctx, conn, rows); err != nil {
		t.Fatal(err)
	}
}

// checkDays compares each rolled-up day of tag_day with mentions: posts
// and accounts per tag.
func checkDays(t *testing.T, conn driver.Conn) {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT d.day, d.tag, d.posts, d.accounts, m.posts, m.accounts FROM (
    SELECT day, tag, posts, uniqCombinedMerge(15)(accounts) AS accounts FROM tag_day WHERE source = '*' GROUP BY day, tag, posts) AS d
ANY LEFT JOIN (
    SELECT toStartOfDay(created_at) AS day, tag, uniqExact(post_id) AS posts,
        uniqExact(if(account = '', concat('post:', post_id), account)) AS accounts
    FROM mentions GROUP BY day, tag) AS m USING (day, tag)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var (
			day                        time.Time
			tag                        string
			posts, accounts, mp, macct uint64
		)
		if err := rows.Scan(&day, &tag, &posts, &accounts, &mp, &macct); err != nil {
			t.Fatal(err)
		}
		n++
		if posts != mp || accounts != macct {
			t.Errorf("%s %s: tag_day %d posts %d accounts, mentions %d and %d", day.Format(time.DateOnly), tag, posts, accounts, mp, macct)
		}
	}
	if n == 0 {
		t.Fatal("tag_day holds no row after the rollup")
	}
}

func TestRollupMatchesMentionsAndFollowsLateRows(t *testing.T) {
	t.Parallel()
	_, conn := stacktest.MigratedClickHouse(t)
	ctx := context.Background()
	now := time.Now().UTC()
	history(t, conn, 0, 3000, now.Truncate(time.Hour))
	w := rollup.NewWorker(conn, nil, nil)
	if err := w.CatchUp(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := w.Backlog(ctx)
	if err != nil || len(b.Days) != 0 {
		t.Fatalf("backlog after catching up: %+v, %v; want none", b, err)
	}
	checkDays(t, conn)
	stacktest.TagTotals(t, conn) // rolled-up reads equal mentions'

	// A late post into an hour rolled up two days ago: the hour and its
	// day stop being trusted until the worker redoes them.
	late := now.Truncate(24 * time.Hour).Add(-36 * time.Hour)
	lateRows := []chstore.Mention{{PostID: "late", Tag: "t1", Display: "t1", CreatedAt: late, Source: "rss", Lang: "en", InsertedAt: now}}
	if err := chstore.InsertMentions(ctx, conn, lateRows); err != nil {
		t.Fatal(err)
	}
	st, err := rollup.Load(ctx, conn, late, late.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	hour, day := late.Truncate(time.Hour), rollup.Day(late)
	if st.HourDone(rollup.TagTiers.Hour, hour) || st.DayDone(rollup.TagTiers.Day, day) {
		t.Fatal("the hour and day of a late post are still trusted before the worker redid them")
	}
	if !st.HourDone(rollup.TagTiers.Hour, hour.Add(time.Hour)) {
		t.Fatal("the hour after the late post's is no longer trusted; only its own hour should be")
	}
	b, err = w.Backlog(ctx)
	if err != nil || len(b.Days) != 1 || !b.Days[0].Equal(day) {
		t.Fatalf("backlog %+v, %v; want the late post's day %s", b, err, day)
	}
	if err := w.CatchUp(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	if st, err = rollup.Load(ctx, conn, late, late.Add(time.Hour)); err != nil || !st.DayDone(rollup.TagTiers.Day, day) {
		t.Fatalf("day %s not done after the worker redid it (%v)", day, err)
	}
	checkDays(t, conn)
	want := uint64(1) // the late post
	for i := range 3000 {
		if i%7 == 1 {
			want++
		}
	}
	if got := stacktest.TagTotals(t, conn)["t1"]; got != want {
		t.Errorf("t1 = %d, want %d with the late post", got, want)
	}
}

// TestStaleSwapIsNotTrusted swaps a day partition behind the worker's back,
// as a slower worker with an older snapshot would: reads stop trusting the
// day, and the worker redoes it.
func TestStaleSwapIsNotTrusted(t *testing.T) {
	t.Parallel()
	_, conn := stacktest.MigratedClickHouse(t)
	ctx := context.Background()
	now := time.Now().UTC()
	history(t, conn, 0, 500, now.Truncate(time.Hour))
	w := rollup.NewWorker(conn, nil, nil)
	if err := w.CatchUp(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	day := rollup.Day(now).Add(-48 * time.Hour)
	id := day.Format("20060102")
	for _, stmt := range []string{
		"CREATE TABLE stale AS tag_day",
		"INSERT INTO stale SELECT day, tag, source, lang, posts - 1, accounts FROM tag_day WHERE toYYYYMMDD(day) = " + id,
		"ALTER TABLE tag_day REPLACE PARTITION " + id + " FROM stale",
	} {
		if err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	st, err := rollup.Load(ctx, conn, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if st.DayDone(rollup.TagTiers.Day, day) {
		t.Fatal("a day swapped after the worker's record is still trusted")
	}
	if !st.HourDone(rollup.TagTiers.Hour, day.Add(5*time.Hour)) {
		t.Fatal("the day's hours, not swapped, are no longer trusted")
	}
	stacktest.TagTotals(t, conn) // redoes the day and compares with mentions
	checkDays(t, conn)
}

// TestConcurrentWorkers runs three workers at once while rows keep
// arriving: whatever order their swaps land in, the counts read through the
// rollups equal mentions'.
func TestConcurrentWorkers(t *testing.T) {
	t.Parallel()
	_, conn := stacktest.MigratedClickHouse(t)
	ctx := context.Background()
	end := time.Now().UTC().Truncate(time.Hour)
	history(t, conn, 0, 1000, end)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { errs[i] = rollup.NewWorker(conn, nil, nil).CatchUp(ctx, io.Discard) })
	}
	history(t, conn, 1000, 1000, end)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	}
	totals := stacktest.TagTotals(t, conn)
	if totals["all"] != 2000 {
		t.Errorf("all = %d, want 2000", totals["all"])
	}
	checkDays(t, conn)
	var staging uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name LIKE 'rollup_stage_%'").Scan(&staging); err != nil {
		t.Fatal(err)
	}
	if staging != 0 {
		t.Errorf("%d staging tables left behind by workers that finished", staging)
	}
}
