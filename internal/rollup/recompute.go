package rollup

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"tagpulse/internal/chengine"
	"tagpulse/internal/deletion"
	"tagpulse/internal/topic"
)

// CountedSQL returns the condition on rows of mentions that count: not a
// bot's (docs/trends.md, "Floods and bots") and not deleted at its source
// (internal/deletion). rangeCond is the read's own condition on
// created_at, as deletion.NotDeletedSQL takes it. Every count of tagpulse,
// in a tier or read from mentions, counts only these rows.
func CountedSQL(rangeCond string) string {
	return "bot = 0 AND " + deletion.NotDeletedSQL(rangeCond)
}

// accountExpr is the account a post counts for: its author, or the post
// itself when it has none.
const accountExpr = "if(account = '', concat('post:', post_id), account)"

// topicSQL is a row's topics (topic.TopicsOfTagSQL) and topicTagsSQL the
// condition that its tag is in one: the bound arrays are the definitions
// the worker read after the marks (topic.Members).
var (
	topicSQL     = topic.TopicsOfTagSQL("@topic_tags", "@topic_names")
	topicTagsSQL = "tag IN (SELECT arrayJoin(@topic_tags))"
)

// recomputeSQL fills a staging table for the days of a batch: {range:col}
// stands for the batch's time ranges on col (the days' hours that have
// ended), {live} for the condition that leaves out the rows that do not
// count (CountedSQL). Each entry's {stage} is the staging table of its
// target. Days come after the hours they are summed from. The topic
// entries (topics set) bind the topics' definitions, and are skipped while
// no topic has a tag.
var recomputeSQL = []struct {
	target string
	dayEnd bool // only for days that have ended
	topics bool // binds the topics' definitions
	sql    []string
}{
	{TagTiers.Hour, false, false, []string{
		`INSERT INTO {stage} (hour, tag, source, lang, posts, accounts)
SELECT toStartOfHour(created_at) AS h, tag, source, lang, uniqExact(post_id), uniqCombinedState(15)(` + accountExpr + `)
FROM mentions WHERE {range:created_at} AND {live}
GROUP BY h, tag, source, lang`,
		`INSERT INTO {stage} (hour, tag, source, lang, posts, accounts)
SELECT toStartOfHour(created_at) AS h, tag, '*', '*', uniqExact(post_id), uniqCombinedState(15)(` + accountExpr + `)
FROM mentions WHERE {range:created_at} AND {live}
GROUP BY h, tag`,
	}},
	{TopicTiers.Hour, false, true, []string{
		`INSERT INTO {stage} (hour, topic, source, lang, posts, accounts)
SELECT toStartOfHour(created_at) AS h, ` + topicSQL + ` AS topic, source, lang, uniqExact(post_id), uniqCombinedState(15)(` + accountExpr + `)
FROM mentions WHERE {range:created_at} AND ` + topicTagsSQL + ` AND {live}
GROUP BY h, topic, source, lang`,
		`INSERT INTO {stage} (hour, topic, source, lang, posts, accounts)
SELECT toStartOfHour(created_at) AS h, ` + topicSQL + ` AS topic, '*', '*', uniqExact(post_id), uniqCombinedState(15)(` + accountExpr + `)
FROM mentions WHERE {range:created_at} AND ` + topicTagsSQL + ` AND {live}
GROUP BY h, topic`,
	}},
	{PostTiers.Hour, false, false, []string{
		`INSERT INTO {stage} (hour, source, lang, posts, accounts)
SELECT toStartOfHour(created_at) AS h, source, lang, uniqExact(post_id), uniqCombinedState(15)(` + accountExpr + `)
FROM mentions WHERE {range:created_at} AND {live}
GROUP BY h, source, lang`,
		`INSERT INTO {stage} (hour, source, lang, posts, accounts)
SELECT toStartOfHour(created_at) AS h, '*', '*', uniqExact(post_id), uniqCombinedState(15)(` + accountExpr + `)
FROM mentions WHERE {range:created_at} AND {live}
GROUP BY h`,
	}},
	{displayTable, false, false, []string{
		`INSERT INTO {stage} (day, tag, display, posts)
SELECT toStartOfDay(created_at) AS d, tag, display, uniqExact(post_id)
FROM mentions WHERE {range:created_at} AND {live}
GROUP BY d, tag, display`,
	}},
	{TagTiers.Day, true, false, []string{
		`INSERT INTO {stage} (day, tag, source, lang, posts, accounts)
SELECT toStartOfDay(hour) AS d, tag, source, lang, sum(posts), uniqCombinedMergeState(15)(accounts)
FROM {stage:tag_hour} WHERE {range:hour}
GROUP BY d, tag, source, lang`,
	}},
	{TopicTiers.Day, true, false, []string{
		`INSERT INTO {stage} (day, topic, source, lang, posts, accounts)
SELECT toStartOfDay(hour) AS d, topic, source, lang, sum(posts), uniqCombinedMergeState(15)(accounts)
FROM {stage:topic_hour} WHERE {range:hour}
GROUP BY d, topic, source, lang`,
	}},
	{PostTiers.Day, true, false, []string{
		`INSERT INTO {stage} (day, source, lang, posts, accounts)
SELECT toStartOfDay(hour) AS d, source, lang, sum(posts), uniqCombinedMergeState(15)(accounts)
FROM {stage:post_hour} WHERE {range:hour}
GROUP BY d, source, lang`,
	}},
}

// maxBatchDays and maxBatchRows bound what one recompute stages at once
// (see Worker.batches), so a long backfill shows progress and one query's
// memory stays bounded: about 1 GB per 4M rows of mentions on 18.16.
const (
	maxBatchDays = 31
	maxBatchRows = 2_000_000
)

// stageName is this worker's staging table for target.
func (w *Worker) stageName(target string) string { return "rollup_stage_" + target + "_" + w.stage }

// expand puts the staging table names and the time ranges into one of
// recomputeSQL's queries.
func (w *Worker) expand(sql, target string, spans []span) string {
	sql = strings.ReplaceAll(sql, "{stage}", w.stageName(target))
	for _, t := range tables {
		sql = strings.ReplaceAll(sql, "{stage:"+t+"}", w.stageName(t))
	}
	sql = strings.ReplaceAll(sql, "{live}", CountedSQL(rangeSQL("created_at", spans)))
	for _, col := range []string{"created_at", "hour"} {
		sql = strings.ReplaceAll(sql, "{range:"+col+"}", rangeSQL(col, spans))
	}
	return sql
}

// span is a stretch of time [from, to) of whole hours.
type span struct{ from, to time.Time }

// rangeSQL is the condition that col lies in one of spans. The bounds are
// Unix seconds this package computed, so they are written in the SQL (the
// number of ranges varies with the batch); nothing else is.
func rangeSQL(col string, spans []span) string {
	if len(spans) == 0 {
		return "0"
	}
	parts := make([]string, len(spans))
	for i, sp := range spans {
		parts[i] = fmt.Sprintf("(%s >= toDateTime(%d) AND %s < toDateTime(%d))", col, sp.from.Unix(), col, sp.to.Unix())
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

// spansOf joins the [day, until) of consecutive days into spans.
func spansOf(days []dayUntil) []span {
	var out []span
	for _, d := range days {
		if n := len(out); n > 0 && out[n-1].to.Equal(d.day) {
			out[n-1].to = d.until
			continue
		}
		out = append(out, span{d.day, d.until})
	}
	return out
}

// dayUntil is a day of a batch and the end of its hours that have ended.
type dayUntil struct{ day, until time.Time }

func (d dayUntil) ended() bool { return d.until.Equal(d.day.Add(24 * time.Hour)) }

// RecomputeDays rewrites the day partitions of every tier table for days
// (in order, at most maxBatchDays of them) from mentions, for their hours
// that have ended: it counts the days' marks first, so the rows it then
// reads include every row those marks stand for; fills its staging tables
// for all the days at once; swaps each partition in; and records each
// table and day whose partition it finds holding exactly its rows.
func (w *Worker) RecomputeDays(ctx context.Context, days []time.Time) error {
	return w.recomputeDays(ctx, days, allTables)
}

// allTables and topicTables choose the tables a recompute rewrites: all of
// them, or only the topic tiers (the days whose only change is a topic
// edit, MarkTopics).
func allTables(string) bool { return true }

func topicTables(t string) bool { return t == TopicTiers.Hour || t == TopicTiers.Day }

// recomputeDays is RecomputeDays for the tables targets chooses.
func (w *Worker) recomputeDays(ctx context.Context, days []time.Time, targets func(string) bool) error {
	now := w.now()
	var batch []dayUntil
	for _, d := range days {
		d = Day(d)
		if until := rolledUntil(d, now); until.After(d) {
			batch = append(batch, dayUntil{d, until})
		}
	}
	if len(batch) == 0 {
		return nil
	}
	if len(batch) > maxBatchDays {
		return fmt.Errorf("rollup: %d days in one batch, at most %d", len(batch), maxBatchDays)
	}
	start := time.Now()
	version, err := w.conn.ServerVersion()
	if err != nil {
		return fmt.Errorf("reading the server's version: %w", err)
	}
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(recomputeSettings(version.Version.Major)))
	marks, err := readMarks(ctx, w.conn, batch[0].day, batch[len(batch)-1].day.Add(24*time.Hour))
	if err != nil {
		return err
	}
	if err := w.syncReplica(ctx); err != nil {
		return err
	}
	// The definitions after the marks: an edit writes them before its
	// marks (topic.Store), so either this batch sees the edit's marks and
	// then its definitions, or its record has fewer marks than the hours
	// now and the days are redone.
	members, err := topic.ReadMembers(ctx, w.conn)
	if err != nil {
		return err
	}
	topicArgs := []any{clickhouse.Named("topic_tags", members.Tags), clickhouse.Named("topic_names", members.Topics)}
	var ended []dayUntil
	for _, d := range batch {
		if d.ended() {
			ended = append(ended, d)
		}
	}
	for _, r := range recomputeSQL {
		if !targets(r.target) {
			continue
		}
		stage := w.stageName(r.target)
		if err := w.createStage(ctx, stage, r.target); err != nil {
			return err
		}
		if err := w.conn.Exec(ctx, "TRUNCATE TABLE "+stage); err != nil {
			return fmt.Errorf("emptying the staging table of %s: %w", r.target, err)
		}
		spans := spansOf(batch)
		if r.dayEnd {
			if len(ended) == 0 {
				continue
			}
			spans = spansOf(ended)
		}
		var args []any
		if r.topics {
			if members.Empty() {
				continue
			}
			args = topicArgs
		}
		for _, q := range r.sql {
			if err := w.conn.Exec(ctx, w.expand(q, r.target, spans), args...); err != nil {
				return fmt.Errorf("recomputing %s for %s to %s: %w", r.target, batch[0].day.Format(time.DateOnly), batch[len(batch)-1].day.Format(time.DateOnly), err)
			}
		}
	}
	if err := w.swapAll(ctx, batch, marks, targets); err != nil {
		return err
	}
	w.metrics.recomputed(time.Since(start))
	w.log.Debug("rolled up", "from", batch[0].day.Format(time.DateOnly), "to", batch[len(batch)-1].day.Format(time.DateOnly), "seconds", time.Since(start).Seconds())
	return nil
}

// recomputeSettings returns the session settings of a recompute's
// queries on a server of major version major: a time bound and, on a
// server older than 20, a few large blocks per INSERT … SELECT of a stage.
// There an aggregation split in two levels (by default past 100,000 keys)
// hands its 256 buckets over as 256 blocks, and each block becomes a part
// per day it holds: a 15-day batch of tag_hour wrote about 5,700 parts on
// 18.16, whose merges made its INSERT take 61 s instead of 4, and whose
// files made the staging table's DROP take 40 to 70 s instead of 0.1; the
// rollup of the 2M-post history took 229 s, and 25 s with one level
// (BENCHMARKS.md, "Rollup time"). Current releases squash those blocks
// and aggregate faster in two levels: the same settings made 26.9's
// rollup of that history take 28 s instead of 18. One level over a batch
// costs no more memory than two: the batch is bounded by maxBatchRows.
func recomputeSettings(major uint64) clickhouse.Settings {
	s := clickhouse.Settings{"max_execution_time": int(recomputeTimeout / time.Second)}
	if major < 20 {
		s["group_by_two_level_threshold"] = 0
		s["group_by_two_level_threshold_bytes"] = 0
		s["max_block_size"] = 1 << 20
	}
	return s
}

// markedTables are the tables whose rows come with marks: on a cluster, a
// view on each marks the hours of the rows a server receives
// (docs/scaling.md).
var markedTables = []string{"mentions", "deletions"}

// syncReplica makes this replica hold every part of the marked tables that
// was on the way to it when the marks were read. On a cluster the marks
// and the rows they stand for are replicated apart: without it, a replica
// that had fetched a mark but not yet its rows would record a recompute
// without them as complete. On one server it does nothing.
func (w *Worker) syncReplica(ctx context.Context) error {
	engine, err := chengine.Of(ctx, w.conn, "mentions")
	if err != nil {
		return err
	}
	if !strings.HasPrefix(engine, "Replicated") {
		return nil
	}
	for _, t := range markedTables {
		if err := w.conn.Exec(ctx, "SYSTEM SYNC REPLICA "+t); err != nil {
			return fmt.Errorf("waiting for the replica's parts of %s: %w", t, err)
		}
	}
	return nil
}

// createStage creates the staging table of target: its columns,
// partitions and order, with its engine made plain when it is replicated
// (a shard's table on a cluster, docs/scaling.md): CREATE … AS alone would
// copy the engine's coordination path and make the staging table one more
// replica of its target.
func (w *Worker) createStage(ctx context.Context, stage, target string) error {
	engine, err := chengine.Of(ctx, w.conn, target)
	if err != nil {
		return err
	}
	plain, err := chengine.Plain(engine)
	if err != nil {
		return fmt.Errorf("the staging table of %s: %w", target, err)
	}
	if err := w.conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+stage+" AS "+target+" ENGINE = "+plain); err != nil {
		return fmt.Errorf("creating the staging table of %s: %w", target, err)
	}
	return nil
}

// swapAll replaces each target's partition (of the tables targets chooses)
// of each day of batch by the staged one, then records in rollup_done the partitions that hold the
// staged rows: the same number of rows and posts, with the same highest
// block number and rows in system.parts before and after that read.
func (w *Worker) swapAll(ctx context.Context, batch []dayUntil, marks hourMarks, targets func(string) bool) error {
	type key struct {
		table, id string
	}
	want := map[key]partSum{}
	var swapped []key
	for _, r := range recomputeSQL {
		if !targets(r.target) {
			continue
		}
		staged, err := w.partitionSums(ctx, w.stageName(r.target), bucketColumn[r.target], "1")
		if err != nil {
			return err
		}
		for _, d := range batch {
			if r.dayEnd && !d.ended() {
				continue
			}
			k := key{r.target, d.day.Format("20060102")}
			want[k] = staged[k.id]
			// The id is only digits and the names ours; ALTER takes no
			// bound value here. An empty staged partition clears the
			// target's: current releases refuse to REPLACE from nothing.
			swap := "ALTER TABLE " + r.target + " REPLACE PARTITION " + k.id + " FROM " + w.stageName(r.target)
			if want[k].rows == 0 {
				swap = "ALTER TABLE " + r.target + " DROP PARTITION " + k.id
			}
			if err := w.conn.Exec(ctx, swap); err != nil {
				return fmt.Errorf("swapping in %s for %s: %w", r.target, d.day.Format(time.DateOnly), err)
			}
			swapped = append(swapped, k)
		}
	}
	from, to := batch[0].day, batch[len(batch)-1].day.Add(24*time.Hour)
	p1, err := readBlocks(ctx, w.conn, from, to)
	if err != nil {
		return err
	}
	got := map[key]partSum{}
	for _, t := range tables {
		sums, err := w.partitionSums(ctx, t, bucketColumn[t], bucketColumn[t]+" >= toDateTime(@from) AND "+bucketColumn[t]+" < toDateTime(@to)",
			clickhouse.Named("from", from.Unix()), clickhouse.Named("to", to.Unix()))
		if err != nil {
			return err
		}
		for id, s := range sums {
			got[key{t, id}] = s
		}
	}
	p2, err := readBlocks(ctx, w.conn, from, to)
	if err != nil {
		return err
	}
	record, err := w.conn.PrepareBatch(ctx, "INSERT INTO rollup_done (table, day, marks, hours_until, block, rows, done_at)")
	if err != nil {
		return fmt.Errorf("recording the rollup: %w", err)
	}
	defer record.Abort()
	until := map[string]dayUntil{}
	for _, d := range batch {
		until[d.day.Format("20060102")] = d
	}
	n := 0
	for _, k := range swapped {
		d := until[k.id]
		pk := partKey{k.table, d.day}
		if p1[pk] != p2[pk] || got[k] != want[k] || p1[pk].rows != want[k].rows {
			w.log.Info("rollup swapped by another worker meanwhile; redone next round", "table", k.table, "day", d.day.Format(time.DateOnly))
			continue
		}
		counts := make([]uint64, 24)
		for i := range counts {
			counts[i] = marks.of(k.table, d.day.Add(time.Duration(i)*time.Hour))
		}
		if err := record.Append(k.table, d.day, counts, d.until, p1[pk].block, p1[pk].rows, w.now().UTC()); err != nil {
			return fmt.Errorf("recording the rollup of %s for %s: %w", k.table, d.day.Format(time.DateOnly), err)
		}
		n++
	}
	if n == 0 {
		return nil
	}
	if err := record.Send(); err != nil {
		return fmt.Errorf("recording the rollup of %d partitions: %w", n, err)
	}
	return nil
}

type partSum struct{ rows, posts uint64 }

// partitionSums counts the rows and posts of each partition of table
// (whose partition key is toYYYYMMDD(bucket)) where cond holds.
func (w *Worker) partitionSums(ctx context.Context, table, bucket, cond string, args ...any) (map[string]partSum, error) {
	q := "SELECT toString(toYYYYMMDD(" + bucket + ")) AS id, count(), sum(posts) FROM " + table + " WHERE " + cond + " GROUP BY id"
	rows, err := w.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("summing %s: %w", table, err)
	}
	defer rows.Close()
	out := map[string]partSum{}
	for rows.Next() {
		var (
			id string
			s  partSum
		)
		if err := rows.Scan(&id, &s.rows, &s.posts); err != nil {
			return nil, fmt.Errorf("summing %s: %w", table, err)
		}
		out[id] = s
	}
	return out, rows.Err()
}

// dropStaging drops this worker's staging tables.
func (w *Worker) dropStaging(ctx context.Context) {
	for _, t := range tables {
		if err := w.conn.Exec(ctx, "DROP TABLE IF EXISTS "+w.stageName(t)); err != nil {
			w.log.Debug("dropping a staging table", "table", w.stageName(t), "err", err)
		}
	}
}
