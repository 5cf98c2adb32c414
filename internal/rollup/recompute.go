package rollup

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// accountExpr is the account a post counts for: its author, or the post
// itself when it has none.
const accountExpr = "if(account = '', concat('post:', post_id), account)"

// recomputeSQL fills a staging table for [@from, @until) of one day. Each
// entry's {stage} is the staging table of its target. Days come after the
// hours they are summed from.
var recomputeSQL = []struct {
	target string
	dayEnd bool // only once the day has ended
	sql    []string
}{
	{TagTiers.Hour, false, []string{
		`INSERT INTO {stage} (hour, tag, source, lang, posts, accounts)
SELECT toStartOfHour(created_at) AS h, tag, source, lang, uniqExact(post_id), uniqCombinedState(` + accountExpr + `)
FROM mentions WHERE created_at >= toDateTime(@from) AND created_at < toDateTime(@until)
GROUP BY h, tag, source, lang`,
		`INSERT INTO {stage} (hour, tag, source, lang, posts, accounts)
SELECT toStartOfHour(created_at) AS h, tag, '*', '*', uniqExact(post_id), uniqCombinedState(` + accountExpr + `)
FROM mentions WHERE created_at >= toDateTime(@from) AND created_at < toDateTime(@until)
GROUP BY h, tag`,
	}},
	{PostTiers.Hour, false, []string{
		`INSERT INTO {stage} (hour, source, lang, posts, accounts)
SELECT toStartOfHour(created_at) AS h, source, lang, uniqExact(post_id), uniqCombinedState(` + accountExpr + `)
FROM mentions WHERE created_at >= toDateTime(@from) AND created_at < toDateTime(@until)
GROUP BY h, source, lang`,
		`INSERT INTO {stage} (hour, source, lang, posts, accounts)
SELECT toStartOfHour(created_at) AS h, '*', '*', uniqExact(post_id), uniqCombinedState(` + accountExpr + `)
FROM mentions WHERE created_at >= toDateTime(@from) AND created_at < toDateTime(@until)
GROUP BY h`,
	}},
	{displayTable, false, []string{
		`INSERT INTO {stage} (day, tag, display, posts)
SELECT toStartOfDay(created_at) AS d, tag, display, uniqExact(post_id)
FROM mentions WHERE created_at >= toDateTime(@from) AND created_at < toDateTime(@until)
GROUP BY d, tag, display`,
	}},
	{TagTiers.Day, true, []string{
		`INSERT INTO {stage} (day, tag, source, lang, posts, accounts)
SELECT toStartOfDay(hour) AS d, tag, source, lang, sum(posts), uniqCombinedMergeState(accounts)
FROM {stage:tag_hour} WHERE hour >= toDateTime(@from) AND hour < toDateTime(@until)
GROUP BY d, tag, source, lang`,
	}},
	{PostTiers.Day, true, []string{
		`INSERT INTO {stage} (day, source, lang, posts, accounts)
SELECT toStartOfDay(hour) AS d, source, lang, sum(posts), uniqCombinedMergeState(accounts)
FROM {stage:post_hour} WHERE hour >= toDateTime(@from) AND hour < toDateTime(@until)
GROUP BY d, source, lang`,
	}},
}

// stageName is this worker's staging table for target.
func (w *Worker) stageName(target string) string { return "rollup_stage_" + target + "_" + w.stage }

// expand puts the staging table names into one of recomputeSQL's queries.
func (w *Worker) expand(sql, target string) string {
	sql = strings.ReplaceAll(sql, "{stage}", w.stageName(target))
	for _, t := range tables {
		sql = strings.ReplaceAll(sql, "{stage:"+t+"}", w.stageName(t))
	}
	return sql
}

// Recompute rewrites the day partition of every tier table from mentions,
// for the day's hours that have ended: it counts the day's marks first, so
// the rows it then reads include every row those marks stand for; fills
// its staging tables; swaps each partition in; and records each table
// whose partition it finds holding exactly its rows.
func (w *Worker) Recompute(ctx context.Context, day time.Time) error {
	day = Day(day)
	until := rolledUntil(day, w.now())
	if !until.After(day) {
		return nil
	}
	start := time.Now()
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"max_execution_time": int(recomputeTimeout / time.Second),
	}))
	marks, err := readMarks(ctx, w.conn, day, day.Add(24*time.Hour))
	if err != nil {
		return err
	}
	counts := make([]uint64, 24)
	for i := range counts {
		counts[i] = marks[day.Add(time.Duration(i)*time.Hour)]
	}
	id := day.Format("20060102")
	args := []any{clickhouse.Named("from", day.Unix()), clickhouse.Named("until", until.Unix())}
	for _, r := range recomputeSQL {
		stage := w.stageName(r.target)
		// CREATE … AS copies the target's columns, engine and settings.
		if err := w.conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+stage+" AS "+r.target); err != nil {
			return fmt.Errorf("creating the staging table of %s: %w", r.target, err)
		}
		if err := w.conn.Exec(ctx, "ALTER TABLE "+stage+" DROP PARTITION "+id); err != nil {
			return fmt.Errorf("emptying the staging table of %s for %s: %w", r.target, id, err)
		}
		if r.dayEnd && !until.Equal(day.Add(24*time.Hour)) {
			continue
		}
		for _, q := range r.sql {
			if err := w.conn.Exec(ctx, w.expand(q, r.target), args...); err != nil {
				return fmt.Errorf("recomputing %s for %s: %w", r.target, day.Format(time.DateOnly), err)
			}
		}
	}
	for _, r := range recomputeSQL {
		if r.dayEnd && !until.Equal(day.Add(24*time.Hour)) {
			continue
		}
		if err := w.swap(ctx, r.target, day, counts, until); err != nil {
			return err
		}
	}
	w.metrics.recomputed(time.Since(start))
	w.log.Debug("rolled up", "day", day.Format(time.DateOnly), "until", until.Format(time.RFC3339), "seconds", time.Since(start).Seconds())
	return nil
}

// swap replaces target's partition of day by the staged one, then records
// it in rollup_done if the partition holds the staged rows: the same
// number of rows and posts, with no other swap between the two reads of
// its block number.
func (w *Worker) swap(ctx context.Context, target string, day time.Time, marks []uint64, until time.Time) error {
	stage, id := w.stageName(target), day.Format("20060102")
	bucket := bucketColumn[target]
	want, err := w.partitionSum(ctx, stage, bucket, id)
	if err != nil {
		return err
	}
	// The id is only digits and the names ours; ALTER takes no bound
	// value here. An empty staged partition clears the target's: current
	// releases refuse to REPLACE from nothing.
	swap := "ALTER TABLE " + target + " REPLACE PARTITION " + id + " FROM " + stage
	if want.rows == 0 {
		swap = "ALTER TABLE " + target + " DROP PARTITION " + id
	}
	if err := w.conn.Exec(ctx, swap); err != nil {
		return fmt.Errorf("swapping in %s for %s: %w", target, day.Format(time.DateOnly), err)
	}
	p1, err := w.part(ctx, target, id)
	if err != nil {
		return err
	}
	got, err := w.partitionSum(ctx, target, bucket, id)
	if err != nil {
		return err
	}
	p2, err := w.part(ctx, target, id)
	if err != nil {
		return err
	}
	if p1 != p2 || got != want || p1.rows != want.rows {
		w.log.Info("rollup swapped by another worker meanwhile; redone next round", "table", target, "day", day.Format(time.DateOnly))
		return nil
	}
	batch, err := w.conn.PrepareBatch(ctx, "INSERT INTO rollup_done (table, day, marks, hours_until, block, rows, done_at)")
	if err != nil {
		return fmt.Errorf("recording the rollup of %s for %s: %w", target, day.Format(time.DateOnly), err)
	}
	defer batch.Abort()
	if err := batch.Append(target, day, marks, until, p1.block, p1.rows, w.now().UTC()); err != nil {
		return fmt.Errorf("recording the rollup of %s for %s: %w", target, day.Format(time.DateOnly), err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("recording the rollup of %s for %s: %w", target, day.Format(time.DateOnly), err)
	}
	return nil
}

type partSum struct{ rows, posts uint64 }

// partitionSum counts the rows and posts of table's partition id, where
// the partition key is toYYYYMMDD(bucket).
func (w *Worker) partitionSum(ctx context.Context, table, bucket, id string) (partSum, error) {
	var s partSum
	if err := w.conn.QueryRow(ctx, "SELECT count(), sum(posts) FROM "+table+" WHERE toYYYYMMDD("+bucket+") = "+id).Scan(&s.rows, &s.posts); err != nil {
		return s, fmt.Errorf("summing %s for %s: %w", table, id, err)
	}
	return s, nil
}

// part reads the state of table's partition id from system.parts, as
// State's checks do.
func (w *Worker) part(ctx context.Context, table, id string) (partState, error) {
	var p partState
	if err := w.conn.QueryRow(ctx, `SELECT max(max_block_number), sum(rows) FROM system.parts
WHERE database = currentDatabase() AND active AND table = ? AND partition_id = ?`, table, id).Scan(&p.block, &p.rows); err != nil {
		return p, fmt.Errorf("reading the parts of %s: %w", table, err)
	}
	return p, nil
}

// dropStaging drops this worker's staging tables.
func (w *Worker) dropStaging(ctx context.Context) {
	for _, t := range tables {
		if err := w.conn.Exec(ctx, "DROP TABLE IF EXISTS "+w.stageName(t)); err != nil {
			w.log.Debug("dropping a staging table", "table", w.stageName(t), "err", err)
		}
	}
}
