package chstore

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Partition is one partition of a table, as system.parts names it.
type Partition struct {
	Table string
	ID    string
}

// partitionLayouts gives, for each table under retention, the layout of its
// partition key (toYYYYMMDD or toYYYYMM) and the span one partition covers.
var partitionLayouts = map[string]struct {
	layout string
	years  int
	months int
	days   int
}{
	"mentions":        {"20060102", 0, 0, 1},
	"posts":           {"20060102", 0, 0, 1},
	"deletions":       {"20060102", 0, 0, 1},
	"tag_hour":        {"20060102", 0, 0, 1},
	"tag_day":         {"20060102", 0, 0, 1},
	"topic_hour":      {"20060102", 0, 0, 1},
	"topic_day":       {"20060102", 0, 0, 1},
	"post_hour":       {"20060102", 0, 0, 1},
	"post_day":        {"20060102", 0, 0, 1},
	"tag_display_day": {"20060102", 0, 0, 1},
	"rollup_dirty":    {"20060102", 0, 0, 1},
	"topic_dirty":     {"20060102", 0, 0, 1},
	"rollup_done":     {"20060102", 0, 0, 1},
	// Alert claims, by month: a cooldown longer than the retention is
	// not kept past it.
	"alert_state": {"200601", 0, 1, 0},
	// What schema v1 left after an upgrade, until migrate --drop-v1.
	"mentions_v1": {"20060102", 0, 0, 1},
	"tag_minute":  {"20060102", 0, 0, 1},
	"tag_display": {"200601", 0, 1, 0},
}

// retainedTables are the tables of partitionLayouts, in order.
var retainedTables = []string{"mentions", "posts", "deletions", "tag_hour", "tag_day", "topic_hour", "topic_day", "post_hour", "post_day", "tag_display_day",
	"rollup_dirty", "topic_dirty", "rollup_done", "alert_state", "mentions_v1", "tag_minute", "tag_display"}

var numericPartition = regexp.MustCompile(`^[0-9]{6,8}$`)

// expired reports whether every row a partition can hold is older than
// cutoff, that is whether the partition ends at or before it.
func expired(table, id string, cutoff time.Time) (bool, error) {
	spec, ok := partitionLayouts[table]
	if !ok {
		return false, fmt.Errorf("table %s is not under retention", table)
	}
	start, err := time.Parse(spec.layout, id)
	if err != nil || !numericPartition.MatchString(id) {
		return false, fmt.Errorf("partition %q of %s: want %s", id, table, spec.layout)
	}
	end := start.AddDate(spec.years, spec.months, spec.days)
	return !end.After(cutoff), nil
}

// DropPartitionsBefore drops the partitions of mentions, of the rollup
// tables and of what v1 left that hold only rows older than cutoff, and
// returns them.
// ClickHouse 18.16 has no TTL, so retention is this: whole partitions,
// dropped by a metadata operation that costs nothing to merge.
func DropPartitionsBefore(ctx context.Context, conn driver.Conn, cutoff time.Time) ([]Partition, error) {
	rows, err := conn.Query(ctx, `SELECT DISTINCT table, partition FROM system.parts
WHERE database = currentDatabase() AND active AND has(?, table)
ORDER BY table, partition`, retainedTables)
	if err != nil {
		return nil, fmt.Errorf("listing partitions in system.parts: %w", err)
	}
	var victims []Partition
	for rows.Next() {
		var p Partition
		if err := rows.Scan(&p.Table, &p.ID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading system.parts: %w", err)
		}
		old, err := expired(p.Table, p.ID, cutoff)
		if err != nil {
			rows.Close()
			return nil, err
		}
		if old {
			victims = append(victims, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading system.parts: %w", err)
	}
	var dropped []Partition
	for _, p := range victims {
		// Table and partition are checked above (a known table name and
		// only digits), and ALTER takes no bound parameter here.
		if err := conn.Exec(ctx, "ALTER TABLE `"+p.Table+"` DROP PARTITION "+p.ID); err != nil {
			return dropped, fmt.Errorf("dropping partition %s of %s: %w", p.ID, p.Table, err)
		}
		dropped = append(dropped, p)
	}
	return dropped, nil
}
