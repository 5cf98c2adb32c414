package chstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chengine"
)

// ErrNotWholeDays is returned by DropDays for a range that does not start
// and end at midnight UTC: the tables are partitioned by UTC day, and
// dropping whole partitions is what removes a range's counts exactly on
// every ClickHouse tagpulse supports.
var ErrNotWholeDays = errors.New("range is not whole UTC days")

// dayTables are the tables partitioned by toYYYYMMDD of the post's day:
// mentions, the posts behind them, and everything the rollup derives from
// mentions, marks included.
var dayTables = []string{"mentions", "posts", "tag_hour", "tag_day", "topic_hour", "topic_day", "post_hour", "post_day", "tag_display_day", "rollup_dirty", "topic_dirty", "rollup_done"}

// DayRange returns the UTC days of [from, to), which must start and end at
// midnight UTC (ErrNotWholeDays otherwise) and hold at least one day.
func DayRange(from, to time.Time) ([]time.Time, error) {
	from, to = from.UTC(), to.UTC()
	if !from.Equal(from.Truncate(24*time.Hour)) || !to.Equal(to.Truncate(24*time.Hour)) {
		return nil, fmt.Errorf("%w: %s to %s; give dates such as 2026-03-01", ErrNotWholeDays, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if !to.After(from) {
		return nil, fmt.Errorf("day range: the end %s is not after the start %s", to.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	var days []time.Time
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	return days, nil
}

// DropDays removes every count of the posts created in [from, to), which
// must be whole UTC days: the day partitions of mentions and of every
// rollup table are dropped (a metadata operation, immediate and exact). It
// returns the days dropped. Rows inserted meanwhile by a running consumer
// may be dropped too: a rebuild then reads them again from Kafka, and
// their marks bring the rollup back.
func DropDays(ctx context.Context, conn driver.Conn, from, to time.Time) ([]string, error) {
	all, err := DayRange(from, to)
	if err != nil {
		return nil, err
	}
	// A view has no partitions: on a cluster, a shard's own database sees
	// the tables of every server (topic_dirty) through views.
	var tables []string
	for _, table := range dayTables {
		engine, err := chengine.Of(ctx, conn, table)
		if err != nil {
			return nil, err
		}
		if engine != "" {
			tables = append(tables, table)
		}
	}
	var days []string
	for _, d := range all {
		id := d.Format("20060102")
		for _, table := range tables {
			// ALTER takes no bound parameter here; the table is one of
			// ours and the partition only digits.
			if err := conn.Exec(ctx, "ALTER TABLE `"+table+"` DROP PARTITION "+id); err != nil {
				return days, fmt.Errorf("dropping partition %s of %s: %w", id, table, err)
			}
		}
		days = append(days, d.Format(time.DateOnly))
	}
	return days, nil
}
