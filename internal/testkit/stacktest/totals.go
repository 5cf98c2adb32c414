package stacktest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/rollup"
)

// TagTotals returns the distinct posts per tag that ClickHouse holds over
// all of history (see ReadTagTotals).
func TagTotals(t testing.TB, conn driver.Conn) map[string]uint64 {
	t.Helper()
	// Bringing the rollups of a long history up to date takes a while:
	// 300 days are about a minute on ClickHouse 26.9 here.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := ReadTagTotals(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ReadTagTotals is TagTotals for code that reports errors (the benchmark):
// the one reader of the counts every test and benchmark checks. It counts
// the distinct posts of each tag in mentions, the ground truth; then it
// brings the rollups up to date and counts again through them (days from
// tag_day, hours from tag_hour, what is not rolled up from mentions, as
// the trend reads do), and fails unless both agree. So every test that
// checks counts checks the rollups too. While mentions keeps changing
// around the second count (writers still at work), it returns mentions'
// counts unchecked: the caller's next read, once they are done, checks.
//
// A database of schema v1 (an older build under scripts/benchab) has no
// rollups, tombstones or bot marks: its counts are mentions' distinct
// posts per tag, as v1 counted them.
func ReadTagTotals(ctx context.Context, conn driver.Conn) (map[string]uint64, error) {
	var v2 uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'rollup_done'").Scan(&v2); err != nil {
		return nil, fmt.Errorf("looking for the rollups: %w", err)
	}
	if v2 == 0 {
		return readTotals(ctx, conn, "SELECT tag, toUInt64(uniqExact(post_id)) FROM mentions GROUP BY tag")
	}
	truth, err := readTotals(ctx, conn, truthSQL)
	if err != nil {
		return nil, err
	}
	// Writers may still be storing (tests poll while the aggregator
	// runs): the comparison counts only when mentions did not change
	// around the count through the rollups.
	for attempt := 0; len(truth) > 0; attempt++ {
		// Other writers (aggregators still storing, their own workers
		// swapping) may keep the catch-up from settling: reads are exact
		// whatever the rollup's progress, so the comparison below holds
		// all the same.
		if err := rollup.NewWorker(conn, nil, nil).CatchUp(ctx, io.Discard); err != nil && !errors.Is(err, rollup.ErrStillBehind) {
			return nil, fmt.Errorf("bringing the rollups up to date: %w", err)
		}
		rolled, err := rolledTotals(ctx, conn)
		if err != nil {
			return nil, err
		}
		again, err := readTotals(ctx, conn, truthSQL)
		if err != nil {
			return nil, err
		}
		switch {
		case !maps.Equal(truth, again) && attempt < 5:
			truth = again
		case !maps.Equal(truth, again):
			// Still being written: no comparison can hold; the caller's
			// next read, once the writers are done, makes it.
			return again, nil
		case !maps.Equal(truth, rolled):
			return nil, fmt.Errorf("counts through the rollups differ from mentions': %s", diffTotals(truth, rolled))
		default:
			return truth, nil
		}
	}
	return truth, nil
}

// truthSQL counts the distinct posts of each tag in mentions that were not
// deleted at their source.
var truthSQL = "SELECT tag, toUInt64(uniqExact(post_id)) FROM mentions WHERE " + rollup.CountedSQL("1") + " GROUP BY tag"

// rolledTotals counts each tag's posts over all of history the way reads
// do: each day from tag_day when its rollup is done, else each of its
// hours from tag_hour when done, else from mentions.
func rolledTotals(ctx context.Context, conn driver.Conn) (map[string]uint64, error) {
	var first, last time.Time
	if err := conn.QueryRow(ctx, "SELECT min(created_at), max(created_at) FROM mentions").Scan(&first, &last); err != nil {
		return nil, fmt.Errorf("reading the range of mentions: %w", err)
	}
	from, to := rollup.Day(first), rollup.Day(last).Add(24*time.Hour)
	st, err := rollup.Load(ctx, conn, from, to)
	if err != nil {
		return nil, err
	}
	var days, hours, raw []uint32
	for d := from; d.Before(to); d = d.Add(24 * time.Hour) {
		if st.DayDone(rollup.TagTiers.Day, d) {
			days = append(days, uint32(d.Unix()))
			continue
		}
		for h := d; h.Before(d.Add(24 * time.Hour)); h = h.Add(time.Hour) {
			if st.HourDone(rollup.TagTiers.Hour, h) {
				hours = append(hours, uint32(h.Unix()))
			} else {
				raw = append(raw, uint32(h.Unix()))
			}
		}
	}
	return readTotals(ctx, conn, `SELECT tag, sum(n) FROM (
    SELECT tag, sum(posts) AS n FROM tag_day WHERE source = '*' AND lang = '*' AND has(CAST(@days, 'Array(UInt32)'), toUInt32(day)) GROUP BY tag
    UNION ALL
    SELECT tag, sum(posts) AS n FROM tag_hour WHERE source = '*' AND lang = '*' AND has(CAST(@hours, 'Array(UInt32)'), toUInt32(hour)) GROUP BY tag
    UNION ALL
    SELECT tag, toUInt64(uniqExact(post_id)) AS n FROM mentions
    WHERE has(CAST(@raw, 'Array(UInt32)'), toUInt32(toStartOfHour(created_at)))
      AND `+rollup.CountedSQL("has(CAST(@raw, 'Array(UInt32)'), toUInt32(toStartOfHour(created_at)))")+`
    GROUP BY tag)
GROUP BY tag`, clickhouse.Named("days", days), clickhouse.Named("hours", hours), clickhouse.Named("raw", raw))
}

func readTotals(ctx context.Context, conn driver.Conn, query string, args ...any) (map[string]uint64, error) {
	rows, err := conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the counts per tag: %w", err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var (
			tag string
			n   uint64
		)
		if err := rows.Scan(&tag, &n); err != nil {
			return nil, fmt.Errorf("reading the counts per tag: %w", err)
		}
		if n > 0 {
			out[tag] = n
		}
	}
	return out, rows.Err()
}

// diffTotals names the first few tags whose counts differ.
func diffTotals(a, b map[string]uint64) string {
	out, n := "", 0
	for tag, x := range a {
		if b[tag] != x && n < 5 {
			out += fmt.Sprintf(" %s: %d in mentions, %d rolled up;", tag, x, b[tag])
			n++
		}
	}
	for tag, y := range b {
		if _, ok := a[tag]; !ok && n < 5 {
			out += fmt.Sprintf(" %s: none in mentions, %d rolled up;", tag, y)
			n++
		}
	}
	return out
}
