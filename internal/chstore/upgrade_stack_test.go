package chstore_test

import (
	"bytes"
	"context"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chstore"
	"tagpulse/internal/rollup"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/trend"
	"tagpulse/internal/trend/trendtest"
)

// TestUpgradeFromV1KeepsTheAnswers fills a schema v1 database (migrations
// 1 to 3) with three days of posts, reads top and trending from v1's
// tables, upgrades it with an interruption after its first day, and reads
// them again through schema v2: the answers are the same, no row of
// mentions is lost or doubled, and the second run resumes where the first
// stopped.
func TestUpgradeFromV1KeepsTheAnswers(t *testing.T) {
	t.Parallel()
	cfg, conn := stacktest.ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := chstore.MigrateTo(ctx, cfg, io.Discard, 3); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	end := at.Truncate(time.Minute).Add(time.Minute)
	ms := trendtest.NewStory(end).Mentions
	ms = append(ms, trendtest.Hourly("defense", "Defense", end, trendtest.Steady(3, 72), "rss", "fr")...)
	insertV1(t, conn, ms)

	windows := []time.Duration{time.Hour, 24 * time.Hour}
	type answers struct {
		top      []trend.Count
		trending []trend.Trend
	}
	before := map[time.Duration]answers{}
	for _, w := range windows {
		before[w] = answers{v1Top(t, conn, at, w), v1Trending(t, conn, at, w)}
		if len(before[w].top) == 0 || len(before[w].trending) == 0 {
			t.Fatalf("v1 answers over %s: top %v, trending %v; want both to list tags", w, before[w].top, before[w].trending)
		}
	}

	// The first run stops after its first day: the second resumes.
	stopped, stop := context.WithCancel(ctx)
	if _, err := chstore.MigrateProgress(stopped, cfg, &stopAfterDay{stop: stop}); err == nil {
		t.Fatal("an upgrade cancelled after its first day succeeded")
	}
	stop()
	var days int64
	if err := conn.QueryRow(ctx, "SELECT toInt64(uniqExact(toDate(created_at))) FROM mentions").Scan(&days); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	if _, err := chstore.MigrateProgress(ctx, cfg, &progress); err != nil {
		t.Fatal(err)
	}
	if n := int64(strings.Count(progress.String(), "migrate: day ")); n != days-1 {
		t.Errorf("the resumed upgrade copied %d days, want the %d the first run did not:\n%s", n, days-1, &progress)
	}
	if !strings.Contains(progress.String(), "resumes at the first day not done") {
		t.Errorf("no progress header on stderr:\n%s", &progress)
	}
	if a, b := count(t, conn, "SELECT count() FROM mentions"), count(t, conn, "SELECT count() FROM mentions_v1"); a != b || a != uint64(len(ms)) {
		t.Errorf("mentions holds %d rows after the upgrade, v1 held %d; want the %d inserted", a, b, len(ms))
	}
	if err := rollup.NewWorker(conn, nil, nil).CatchUp(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}

	store := trend.NewStore(conn, trend.DefaultParams())
	for _, w := range windows {
		top, err := store.Top(ctx, trend.Query{At: at, Window: w, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(top, before[w].top) {
			t.Errorf("top over %s after the upgrade:\n %+v\nbefore:\n %+v", w, top, before[w].top)
		}
		for _, by := range []trend.By{trend.ByPosts, trend.ByAccounts} {
			got, err := store.Trending(ctx, trend.Query{At: at, Window: w, Limit: 20, By: by})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(before[w].trending) {
				t.Fatalf("trending over %s by %s after the upgrade: %+v\nbefore: %+v", w, by, got, before[w].trending)
			}
			for i, g := range got {
				// v1 kept no authors: each post is its own account.
				b := before[w].trending[i]
				if g.Tag != b.Tag || g.Display != b.Display || g.Count != b.Count || g.Accounts != b.Count || g.Expected != b.Expected || g.Score != b.Score {
					t.Errorf("trending over %s by %s, #%d after the upgrade: %+v, before %+v", w, by, i+1, g, b)
				}
			}
		}
	}
	if err := chstore.DropV1(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if n := count(t, conn, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name IN ('mentions_v1', 'tag_minute', 'tag_display')"); n != 0 {
		t.Errorf("%d of v1's tables left after DropV1", n)
	}
}

// stopAfterDay cancels the upgrade once it reports its first day copied.
type stopAfterDay struct{ stop func() }

func (s *stopAfterDay) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte("migrate: day ")) {
		s.stop()
	}
	return len(p), nil
}

// insertV1 inserts mentions into v1's table, which has no account.
func insertV1(t *testing.T, conn driver.Conn, ms []trendtest.Mention) {
	t.Helper()
	ctx := context.Background()
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO mentions (post_id, tag, display, created_at, source, lang, extractor_version, kafka_partition, kafka_offset, inserted_at)")
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if err := batch.Append(m.PostID, m.Tag, m.Display, m.At.UTC(), m.Source, m.Lang, uint16(1), int32(0), int64(i), time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
}

// v1Displays is the spelling most posts used, from v1's tag_display.
func v1Displays(t *testing.T, conn driver.Conn) map[string]string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT tag, argMax(display, (n, display)) FROM (
    SELECT tag, display, uniqExactMerge(posts) AS n FROM tag_display GROUP BY tag, display) GROUP BY tag`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var tag, display string
		if err := rows.Scan(&tag, &display); err != nil {
			t.Fatal(err)
		}
		out[tag] = display
	}
	return out
}

// v1Top is top as schema v1 answered it, from tag_minute.
func v1Top(t *testing.T, conn driver.Conn, at time.Time, window time.Duration) []trend.Count {
	t.Helper()
	from, to := trend.Span(at, window)
	rows, err := conn.Query(context.Background(), `SELECT tag, uniqExactMerge(posts) AS n FROM tag_minute
WHERE minute >= toDateTime(@from) AND minute < toDateTime(@to) GROUP BY tag ORDER BY n DESC, tag LIMIT 20`,
		clickhouse.Named("from", from.Unix()), clickhouse.Named("to", to.Unix()))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	displays := v1Displays(t, conn)
	var out []trend.Count
	for rows.Next() {
		var c trend.Count
		if err := rows.Scan(&c.Tag, &c.Count); err != nil {
			t.Fatal(err)
		}
		c.Display, c.Accounts = displays[c.Tag], c.Count
		out = append(out, c)
	}
	return out
}

// v1Trending scores tag_minute's counts over the windows trending
// compares (docs/trends.md: the baseline ends at the start of the hour, or
// day, that holds the window's start) with the default parameters.
func v1Trending(t *testing.T, conn driver.Conn, at time.Time, window time.Duration) []trend.Trend {
	t.Helper()
	params := trend.DefaultParams()
	k := params.BaselineWindows
	from, to := trend.Span(at, window)
	base := from.Truncate(time.Hour)
	if window%(24*time.Hour) == 0 {
		base = from.Truncate(24 * time.Hour)
	}
	w := int64(window / time.Second)
	rows, err := conn.Query(context.Background(), `SELECT tag,
    if(toInt64(toUInt32(minute)) >= @from, 0, 1 + intDiv(@base - 1 - toInt64(toUInt32(minute)), @w)) AS slot,
    uniqExactMerge(posts)
FROM tag_minute
WHERE minute >= toDateTime(@base - @k * @w) AND minute < toDateTime(@to)
  AND (minute >= toDateTime(@from) OR minute < toDateTime(@base))
GROUP BY tag, slot`,
		clickhouse.Named("from", from.Unix()), clickhouse.Named("to", to.Unix()), clickhouse.Named("base", base.Unix()),
		clickhouse.Named("w", w), clickhouse.Named("k", int64(k)))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	slots := map[string][]uint64{}
	for rows.Next() {
		var (
			tag  string
			slot int64
			n    uint64
		)
		if err := rows.Scan(&tag, &slot, &n); err != nil {
			t.Fatal(err)
		}
		if slots[tag] == nil {
			slots[tag] = make([]uint64, k+1)
		}
		slots[tag][slot] = n
	}
	out := params.Rank(slots, 20)
	displays := v1Displays(t, conn)
	for i := range out {
		out[i].Display = displays[out[i].Tag]
	}
	return out
}

func count(t *testing.T, conn driver.Conn, query string) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
