package chstore_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"reflect"
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

// TestRegranulateKeepsTheAnswers gives a database the rollup tables of
// before migration 0009 (ClickHouse's 8192 rows per granule), fills and
// rolls them up, then runs the migration's step from three migrators at
// once: every keyed rollup ends with granules of 256 rows, nothing is
// left behind, and top, trending and top by topic answer the same before
// the step, right after it (from mentions), and once the worker has
// recomputed the rollups.
func TestRegranulateKeepsTheAnswers(t *testing.T) {
	t.Parallel()
	_, conn := stacktest.MigratedClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, table := range chstore.KeyedRollups {
		setGranularity(t, conn, table, 8192)
	}
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
	before := answers()
	if !strings.Contains(before, "Tag:nato") || !strings.Contains(before, "Topic:nato") {
		t.Fatalf("the story's answers name neither the tag nor the topic nato:\n%s", before)
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
		replaced += strings.Count(progress[i].String(), "granules of 256 rows")
	}
	if replaced < len(chstore.KeyedRollups) {
		t.Errorf("the migrators reported %d tables replaced, want at least %d:\n%s%s%s", replaced, len(chstore.KeyedRollups), &progress[0], &progress[1], &progress[2])
	}
	for _, table := range chstore.KeyedRollups {
		engine, err := chengine.Of(ctx, conn, table)
		if err != nil {
			t.Fatal(err)
		}
		if g := chengine.Granularity(engine); g != 256 {
			t.Errorf("%s has granules of %d rows after the step: %s", table, g, engine)
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

// setGranularity replaces table by an empty one with rows per granule, as
// a database made before migration 0009 had.
func setGranularity(t *testing.T, conn driver.Conn, table string, rows int) {
	t.Helper()
	ctx := context.Background()
	engine, err := chengine.Of(ctx, conn, table)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TABLE " + table + "_old_granules AS " + table + " ENGINE = " + chengine.WithGranularity(engine, rows),
		"DROP TABLE " + table,
		"RENAME TABLE " + table + "_old_granules TO " + table,
	} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
