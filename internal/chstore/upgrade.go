package chstore

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// v1Tables are what schema v1 left once mentions is upgraded: its raw
// rows under their new name, and the two count tables its views filled.
var v1Tables = []string{"mentions_v1", "tag_minute", "tag_display"}

// upgradeMentions is the Go step of migration 4: it copies v1's mentions
// into mentions_v2 one day partition at a time, recording each day in
// migrate_progress, then swaps the names so that mentions is the v2 table,
// and marks every hour for the rollup worker. Interrupted, it starts again
// at the first day not recorded (after dropping what it had copied of
// that day), so it loses nothing and doubles nothing. A database that is
// already v2 (mentions has an account column) only loses the empty
// mentions_v2 the migration's statements made again.
func upgradeMentions(ctx context.Context, conn driver.Conn, database string, progress io.Writer) error {
	v2, err := mentionsUpgraded(ctx, conn, database)
	if err != nil || v2 {
		return err
	}
	err = copyMentions(ctx, conn, database, progress)
	// Another replica migrating at once may have swapped the tables
	// meanwhile (its RENAME of two tables is not atomic on 18.16, so look
	// again for a moment): then the upgrade is done.
	for i := 0; err != nil && i < 10; i++ {
		if rerr := restoreMentions(ctx, conn, database); rerr != nil {
			return fmt.Errorf("%w; then %w", err, rerr)
		}
		if v2, cerr := mentionsUpgraded(ctx, conn, database); cerr == nil && v2 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// restoreMentions undoes the half of a RENAME that raced another
// migrator: when that one swapped the tables and dropped an empty v1
// first, this one's "mentions TO mentions_v1" moved the new v2 table away
// before its "mentions_v2 TO mentions" failed. A mentions_v1 with an
// account column and no mentions is that table: it goes back.
func restoreMentions(ctx context.Context, conn driver.Conn, database string) error {
	current, err := columnTypes(ctx, conn, database, "mentions")
	if err != nil || len(current) > 0 {
		return err
	}
	moved, err := columnTypes(ctx, conn, database, "mentions_v1")
	if err != nil {
		return err
	}
	if _, v2 := moved["account"]; !v2 {
		return nil
	}
	if err := conn.Exec(ctx, "RENAME TABLE mentions_v1 TO mentions"); err != nil {
		return fmt.Errorf("moving the v2 mentions back from mentions_v1 after a concurrent upgrade: %w", err)
	}
	return nil
}

// mentionsUpgraded reports whether mentions is v2's (it has an account
// column); it then drops mentions_v2, which the migration's statements
// create again each time they run.
func mentionsUpgraded(ctx context.Context, conn driver.Conn, database string) (bool, error) {
	cols, err := columnTypes(ctx, conn, database, "mentions")
	if err != nil {
		return false, err
	}
	if _, v2 := cols["account"]; !v2 {
		return false, nil
	}
	if err := conn.Exec(ctx, "DROP TABLE IF EXISTS mentions_v2"); err != nil {
		return true, fmt.Errorf("dropping the empty mentions_v2: %w", err)
	}
	return true, nil
}

// copyMentions copies v1's mentions into mentions_v2 and swaps them.
func copyMentions(ctx context.Context, conn driver.Conn, database string, progress io.Writer) error {
	days, err := partitionRows(ctx, conn, database, "mentions")
	if err != nil {
		return err
	}
	copied, err := copiedDays(ctx, conn)
	if err != nil {
		return err
	}
	var total uint64
	for _, d := range days {
		total += d.rows
	}
	if len(days) > 0 {
		fmt.Fprintf(progress, "migrate: upgrading mentions to schema v2: %d days, %d rows; interrupted, it resumes at the first day not done\n", len(days), total)
	}
	for i, d := range days {
		if copied[d.id] {
			continue
		}
		start := time.Now()
		if err := copyDay(ctx, conn, d.id); err != nil {
			return err
		}
		fmt.Fprintf(progress, "migrate: day %s (%d/%d), %d mentions, %.1f s\n", d.id, i+1, len(days), d.rows, time.Since(start).Seconds())
	}
	// The views of v1 go first: they would otherwise follow mentions to its
	// new name and go on filling tag_minute.
	for _, stmt := range []string{
		"DROP TABLE IF EXISTS tag_minute_mv",
		"DROP TABLE IF EXISTS tag_display_mv",
		"RENAME TABLE mentions TO mentions_v1, mentions_v2 TO mentions",
		// as rollup.MarkAll, which imports this package
		"INSERT INTO rollup_dirty (hour, marked_at) SELECT DISTINCT toStartOfHour(created_at), now() FROM mentions",
	} {
		if err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("upgrading mentions: %s: %w", stmt, err)
		}
	}
	if total == 0 {
		return DropV1(ctx, conn)
	}
	fmt.Fprintf(progress, "migrate: mentions is schema v2; v1's tables (%v) are kept until `aggregate migrate --drop-v1`\n", v1Tables)
	return nil
}

// DropV1 drops the tables schema v1 left behind after an upgrade.
func DropV1(ctx context.Context, conn driver.Conn) error {
	for _, t := range v1Tables {
		if err := conn.Exec(ctx, "DROP TABLE IF EXISTS `"+t+"`"); err != nil {
			return fmt.Errorf("dropping v1's %s: %w", t, err)
		}
	}
	return nil
}

// copyDay copies one day partition of v1's mentions into mentions_v2,
// after dropping whatever an interrupted copy left of it, and records it.
// Every v1 post counts as its own account: v1 did not keep authors.
func copyDay(ctx context.Context, conn driver.Conn, id string) error {
	if !numericPartition.MatchString(id) {
		return fmt.Errorf("partition %q of mentions: want YYYYMMDD", id)
	}
	day, err := time.Parse("20060102", id)
	if err != nil {
		return fmt.Errorf("partition %q of mentions: %w", id, err)
	}
	// The id is only digits (checked above); ALTER takes no bound value.
	if err := conn.Exec(ctx, "ALTER TABLE mentions_v2 DROP PARTITION "+id); err != nil {
		return fmt.Errorf("dropping the partial copy of day %s: %w", id, err)
	}
	if err := conn.Exec(ctx, `INSERT INTO mentions_v2 (post_id, account, tag, display, created_at, source, lang, extractor_version, kafka_partition, kafka_offset, inserted_at)
SELECT post_id, '', tag, display, created_at, source, lang, extractor_version, kafka_partition, kafka_offset, inserted_at
FROM mentions WHERE toYYYYMMDD(created_at) = `+id); err != nil {
		return fmt.Errorf("copying day %s of mentions: %w", id, err)
	}
	var rows uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM mentions_v2 WHERE toYYYYMMDD(created_at) = "+id).Scan(&rows); err != nil {
		return fmt.Errorf("counting the copy of day %s: %w", id, err)
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO migrate_progress (version, day, rows, done_at)")
	if err != nil {
		return fmt.Errorf("recording day %s: %w", id, err)
	}
	if err := batch.Append(uint32(4), day, rows, time.Now().UTC()); err != nil {
		return fmt.Errorf("recording day %s: %w", id, err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("recording day %s: %w", id, err)
	}
	return nil
}

type partitionSize struct {
	id   string
	rows uint64
}

// partitionRows lists a table's partitions in order with their rows.
func partitionRows(ctx context.Context, conn driver.Conn, database, table string) ([]partitionSize, error) {
	rows, err := conn.Query(ctx, `SELECT partition, sum(rows) FROM system.parts
WHERE database = ? AND table = ? AND active GROUP BY partition ORDER BY partition`, database, table)
	if err != nil {
		return nil, fmt.Errorf("listing the partitions of %s: %w", table, err)
	}
	defer rows.Close()
	var out []partitionSize
	for rows.Next() {
		var p partitionSize
		if err := rows.Scan(&p.id, &p.rows); err != nil {
			return nil, fmt.Errorf("listing the partitions of %s: %w", table, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// copiedDays are the days migrate_progress records as copied.
func copiedDays(ctx context.Context, conn driver.Conn) (map[string]bool, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT toYYYYMMDD(day) FROM migrate_progress WHERE version = 4")
	if err != nil {
		return nil, fmt.Errorf("reading migrate_progress: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var d uint32
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("reading migrate_progress: %w", err)
		}
		out[fmt.Sprint(d)] = true
	}
	return out, rows.Err()
}
