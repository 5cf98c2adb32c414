package chstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chengine"
	"tagpulse/internal/chstore"
	"tagpulse/internal/rollup"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/topic"
	"tagpulse/internal/trend"
	"tagpulse/internal/trend/trendtest"
)

// TestRegranulateKeepsTheAnswers reads top, trending and top by topic,
// then gives the database the rollup tables of before migration 0009
// (ClickHouse's 8192 rows per granule, no account_count) and rolls them
// up, then runs the migration's step from three migrators at once: every
// keyed rollup ends with granules of 256 rows and its account counts,
// nothing is left behind, and the answers right after it (from mentions)
// and once the worker has recomputed the rollups are the first ones.
func TestRegranulateKeepsTheAnswers(t *testing.T) {
	t.Parallel()
	_, conn := stacktest.MigratedClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	at := time.Now().UTC()
	end := at.Truncate(time.Minute).Add(time.Minute)
	ms := trendtest.NewStory(end).Mentions
	ms = append(ms, trendtest.Hourly("defense", "Defense", end.Add(-30*time.Hour), trendtest.Steady(3, 48), "rss", "fr")...)
	trendtest.Insert(t, conn, ms)
	if _, err := topic.NewStore(conn, rollup.MarkTopics).Add(ctx, "nato", "test", "nato", "otan"); err != nil {
		t.Fatal(err)
	}
	worker := rollup.NewWorker(conn, nil, nil)
	if err := worker.CatchUp(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	store := trend.NewStore(conn, trend.DefaultParams())
	answers := func() string {
		t.Helper()
		var b strings.Builder
		for _, w := range []time.Duration{time.Hour, 24 * time.Hour, 72 * time.Hour} {
			for _, topics := range []bool{false, true} {
				q := trend.Query{At: at, Window: w, Limit: 20, Topics: topics}
				top, err := store.Top(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				trending, err := store.Trending(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "%s topics=%v\ntop %+v\ntrending %+v\n", w, topics, top, trending)
			}
		}
		return b.String()
	}
	// The answers of this release's tables, then the same rows rolled up
	// into the tables of before migration 0009, which it cannot read.
	before := answers()
	if !strings.Contains(before, "Tag:nato") || !strings.Contains(before, "Topic:nato") {
		t.Fatalf("the story's answers name neither the tag nor the topic nato:\n%s", before)
	}
	for _, table := range chstore.KeyedRollups {
		makeOld(t, conn, table)
	}
	if err := rollup.MarkAll(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if err := rollup.MarkTopics(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if err := worker.CatchUp(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	var old uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM tag_day").Scan(&old); err != nil || old == 0 {
		t.Fatalf("the old tag_day holds %d rows (%v): the worker did not fill it", old, err)
	}
	if _, err := store.Trending(ctx, trend.Query{At: at, Window: 24 * time.Hour, Limit: 20}); !errors.Is(err, trend.ErrOldSchema) || !errors.Is(err, trend.ErrNoSchema) {
		t.Errorf("trending on the tables of before migration 0009: %v; want ErrOldSchema, which says to migrate", err)
	}

	var (
		wg       sync.WaitGroup
		progress [3]bytes.Buffer
		errs     [3]error
	)
	for i := range progress {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = chstore.RegranulateRollups(ctx, conn, "", &progress[i])
		}()
	}
	wg.Wait()
	replaced := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("migrator %d: %v", i, err)
		}
		replaced += strings.Count(progress[i].String(), "granules of 256 rows and its account counts")
	}
	if replaced < len(chstore.KeyedRollups) {
		t.Errorf("the migrators reported %d tables replaced, want at least %d:\n%s%s%s", replaced, len(chstore.KeyedRollups), &progress[0], &progress[1], &progress[2])
	}
	for _, table := range chstore.KeyedRollups {
		columns, engine, err := chengine.Definition(ctx, conn, table)
		if err != nil {
			t.Fatal(err)
		}
		if g := chengine.Granularity(engine); g != 256 {
			t.Errorf("%s has granules of %d rows after the step: %s", table, g, engine)
		}
		if want := table != "tag_display_day"; accountCount.MatchString(columns) != want {
			t.Errorf("%s after the step: %s; want account_count: %v", table, columns, want)
		}
	}
	var left []string
	rows, err := conn.Query(ctx, "SELECT name FROM system.tables WHERE database = currentDatabase() AND (name LIKE '%regranulat%')")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		left = append(left, name)
	}
	rows.Close()
	if len(left) > 0 {
		t.Errorf("tables left behind by the step: %v", left)
	}

	if got := answers(); got != before {
		t.Errorf("answers right after the step (from mentions):\n%s\nbefore:\n%s", got, before)
	}
	if err := worker.CatchUp(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	var rolled uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM tag_day").Scan(&rolled); err != nil {
		t.Fatal(err)
	}
	if rolled == 0 {
		t.Error("tag_day is empty after the worker caught up: the step did not mark the hours")
	}
	if got := answers(); got != before {
		t.Errorf("answers once the rollups were recomputed:\n%s\nbefore:\n%s", got, before)
	}
	// Running it again changes nothing.
	var again bytes.Buffer
	if err := chstore.RegranulateRollups(ctx, conn, "", &again); err != nil || again.Len() > 0 {
		t.Errorf("a second run: %v, %q; want nothing done", err, &again)
	}
	if !reflect.DeepEqual(answers(), before) {
		t.Error("answers changed after a second run")
	}
}

// accountCount finds account_count in a column list.
var accountCount = regexp.MustCompile(", ?`?account_count`? UInt64 MATERIALIZED finalizeAggregation\\(`?accounts`?\\)")

// makeOld replaces table by an empty one as a database made before
// migration 0009 had it: ClickHouse's 8192 rows per granule and no
// account_count.
func makeOld(t *testing.T, conn driver.Conn, table string) {
	t.Helper()
	ctx := context.Background()
	columns, engine, err := chengine.Definition(ctx, conn, table)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TABLE " + table + "_old_granules " + accountCount.ReplaceAllString(columns, "") + " ENGINE = " + chengine.WithGranularity(engine, 8192),
		"DROP TABLE " + table,
		"RENAME TABLE " + table + "_old_granules TO " + table,
	} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
