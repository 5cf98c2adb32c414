// Package rollup keeps schema v2's hour and day tables (docs/schema-v2.md)
// up to date with mentions, and tells readers which of their buckets they
// may trust.
//
// The aggregator marks the hours of every batch it stores (Mark), after the
// insert and before the Kafka commit. The Worker recomputes, per day, the
// rows of every tier table from mentions into a staging table of its own,
// swaps the day's partition in with REPLACE PARTITION, checks that the
// partition holds what it computed, and records that in rollup_done: the
// marks each hour had when it started, and the partition's highest block
// number and rows. A reader (State) trusts a bucket only while the
// partition still has that highest block and those rows (two workers'
// REPLACEs that commit out of order change one or the other) and no hour
// of it has gained marks since; any
// other bucket is read from mentions. So every answer is exact whatever
// the worker's progress, and the worker only makes reads cheaper.
package rollup

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"

	"tagpulse/internal/chinsert"
)

// Tiers names an hour table and the day table computed from it.
type Tiers struct{ Hour, Day string }

// The tier pairs of schema v2: per tag, per topic (over the union of its
// tags, internal/topic), and over all tags.
var (
	TagTiers   = Tiers{Hour: "tag_hour", Day: "tag_day"}
	TopicTiers = Tiers{Hour: "topic_hour", Day: "topic_day"}
	PostTiers  = Tiers{Hour: "post_hour", Day: "post_day"}
)

// displayTable holds posts per tag, spelling and day.
const displayTable = "tag_display_day"

// tables are every table the worker writes, by day partition.
var tables = []string{TagTiers.Hour, TagTiers.Day, TopicTiers.Hour, TopicTiers.Day, PostTiers.Hour, PostTiers.Day, displayTable}

// bucketColumn is the time column of each table, by which it is
// partitioned (toYYYYMMDD).
var bucketColumn = map[string]string{
	TagTiers.Hour: "hour", TopicTiers.Hour: "hour", PostTiers.Hour: "hour",
	TagTiers.Day: "day", TopicTiers.Day: "day", PostTiers.Day: "day", displayTable: "day",
}

// Tables lists the tables the worker writes, so retention and rebuild can
// drop their partitions with those of mentions.
func Tables() []string { return append([]string(nil), tables...) }

// rolledUntil is where the rollup of day ends at now: the day's end, or the
// start of the current hour while the day is the current one.
func rolledUntil(day, now time.Time) time.Time {
	end, h := day.Add(24*time.Hour), now.UTC().Truncate(time.Hour)
	if h.Before(end) {
		return h
	}
	return end
}

// Day is the start of t's UTC day.
func Day(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// Mark records that rows were stored for each of hours (starts of hours,
// UTC), so the rollup of those hours is redone. Marking an hour twice is
// harmless.
func Mark(ctx context.Context, conn driver.Conn, hours []time.Time, now time.Time) error {
	if len(hours) == 0 {
		return nil
	}
	at := make([]time.Time, len(hours))
	for i := range at {
		at[i] = now.UTC()
	}
	if err := chinsert.Columns(ctx, conn, "rollup_dirty", "hour, marked_at", hours, at); err != nil {
		return fmt.Errorf("inserting %d rollup marks: %w", len(hours), err)
	}
	return nil
}

// MarkTopics marks every hour that has stored rows for the topic tiers
// only (topic_dirty), after the topics' tags changed: the worker then
// recomputes topic_hour and topic_day for all of history, and the other
// tiers stay trusted.
func MarkTopics(ctx context.Context, conn driver.Conn) error {
	if err := conn.Exec(ctx, "INSERT INTO topic_dirty (hour, marked_at) SELECT DISTINCT hour, now() FROM rollup_dirty"); err != nil {
		return fmt.Errorf("marking every stored hour for the topic rollup: %w", err)
	}
	return nil
}

// MarkAll marks every hour that holds rows of mentions, so the worker
// recomputes all of history: after rows reached mentions without Mark, as
// a restored dump does (docs/operations.md, "Backup and restore").
func MarkAll(ctx context.Context, conn driver.Conn) error {
	if err := conn.Exec(ctx, "INSERT INTO rollup_dirty (hour, marked_at) SELECT DISTINCT toStartOfHour(created_at), now() FROM mentions"); err != nil {
		return fmt.Errorf("marking every hour of mentions: %w", err)
	}
	return nil
}

// done is one rollup_done record: the worker checked that table's
// partition of day held the rows of the hours before until, computed from
// mentions when hour i of the day had marks[i] marks, and the partition
// then held rows rows in active parts whose highest block number was
// block.
type done struct {
	marks []uint64
	until time.Time
	part  partState
}

// State is what a reader needs to know of the rollup for a span of days:
// the marks of each hour and the records of the worker still valid.
type State struct {
	marks hourMarks
	done  map[string]map[time.Time]done // table → day → a record still valid
}

// hourMarks are the marks of each hour: data marks (rollup_dirty: rows of
// the hour were stored) and topic marks (topic_dirty: the topics' tags
// were edited, MarkTopics).
type hourMarks struct{ data, topics map[time.Time]uint64 }

// of is the number of marks table's rows of hour h depend on: the data
// marks, plus the topic marks for the topic tiers. Marks are only added
// (retention drops whole days), so a sum that is unchanged means neither
// changed; a topic edit leaves the other tiers trusted.
func (m hourMarks) of(table string, h time.Time) uint64 {
	n := m.data[h]
	if table == TopicTiers.Hour || table == TopicTiers.Day {
		n += m.topics[h]
	}
	return n
}

// Load reads the rollup's state for the days that [from, to) touches.
func Load(ctx context.Context, conn driver.Conn, from, to time.Time) (*State, error) {
	d1, d2 := Day(from), Day(to.Add(-time.Nanosecond)).Add(24*time.Hour)
	s := &State{done: map[string]map[time.Time]done{}}
	// The three reads are independent (a record that does not match the
	// parts or the marks read beside it is not trusted, whatever their
	// order), so they go out at once: one round trip instead of three.
	// Each reads its rows whole, so none holds a connection while waiting.
	var (
		g       errgroup.Group
		blocks  map[partKey]partState
		records []record
	)
	g.Go(func() (err error) {
		s.marks, err = readMarks(ctx, conn, d1, d2)
		return err
	})
	g.Go(func() (err error) {
		blocks, err = readBlocks(ctx, conn, d1, d2)
		return err
	})
	g.Go(func() (err error) {
		records, err = readRecords(ctx, conn, d1, d2)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, r := range records {
		// A record is valid while the partition is as the worker left it:
		// a later REPLACE (say by a slower worker with an older snapshot)
		// allocates a higher block number, and one that took its number
		// earlier but committed later keeps the parts above its number,
		// so the rows add up to more. Merges change neither. Later valid
		// records win.
		if blocks[partKey{r.table, r.day}] != r.part {
			continue
		}
		if s.done[r.table] == nil {
			s.done[r.table] = map[time.Time]done{}
		}
		s.done[r.table][r.day] = r.done
	}
	return s, nil
}

// Replicas is the state of the rollup on every replica of every shard of
// a cluster, each loaded from the replica's own tables (docs/scaling.md):
// a bucket is done only where it is done on each of them, so a read
// through the Distributed tables finds it whole whichever replica answers
// for a shard.
type Replicas []*State

// LoadReplicas loads the state of [from, to) from each of conns at once.
func LoadReplicas(ctx context.Context, conns []driver.Conn, from, to time.Time) (Replicas, error) {
	out := make(Replicas, len(conns))
	var g errgroup.Group
	for i, c := range conns {
		g.Go(func() (err error) {
			out[i], err = Load(ctx, c, from, to)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// HourDone reports whether table's rows for hour h are done on every
// replica.
func (r Replicas) HourDone(table string, h time.Time) bool {
	for _, s := range r {
		if !s.HourDone(table, h) {
			return false
		}
	}
	return len(r) > 0
}

// DayDone reports whether table's rows for day are done on every replica.
func (r Replicas) DayDone(table string, day time.Time) bool {
	for _, s := range r {
		if !s.DayDone(table, day) {
			return false
		}
	}
	return len(r) > 0
}

// record is a row of rollup_done.
type record struct {
	table string
	day   time.Time
	done
}

// readRecords reads rollup_done's rows of the days [from, to), oldest
// first.
func readRecords(ctx context.Context, conn driver.Conn, from, to time.Time) ([]record, error) {
	rows, err := conn.Query(ctx, `SELECT table, day, marks, hours_until, block, rows FROM rollup_done
WHERE day >= toDateTime(@from) AND day < toDateTime(@to) ORDER BY done_at`, clickhouse.Named("from", from.Unix()), clickhouse.Named("to", to.Unix()))
	if err != nil {
		return nil, fmt.Errorf("reading rollup_done: %w", err)
	}
	defer rows.Close()
	var out []record
	for rows.Next() {
		var r record
		if err := rows.Scan(&r.table, &r.day, &r.marks, &r.until, &r.part.block, &r.part.rows); err != nil {
			return nil, fmt.Errorf("reading rollup_done: %w", err)
		}
		r.day, r.until = r.day.UTC(), r.until.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading rollup_done: %w", err)
	}
	return out, nil
}

// HourDone reports whether table's rows for hour h hold all of the hour's
// rows of mentions.
func (s *State) HourDone(table string, h time.Time) bool {
	h = h.UTC()
	day := Day(h)
	r, ok := s.done[table][day]
	if !ok || !h.Before(r.until) {
		return false
	}
	i := int(h.Sub(day) / time.Hour)
	return i < len(r.marks) && r.marks[i] == s.marks.of(table, h)
}

// DayDone reports whether table's rows for the day starting at day hold
// all of the day's rows of mentions.
func (s *State) DayDone(table string, day time.Time) bool {
	day = day.UTC()
	r, ok := s.done[table][day]
	if !ok || !r.until.Equal(day.Add(24*time.Hour)) || len(r.marks) != 24 {
		return false
	}
	for i := range 24 {
		if r.marks[i] != s.marks.of(table, day.Add(time.Duration(i)*time.Hour)) {
			return false
		}
	}
	return true
}

// readMarks counts the data and topic marks of each hour of [from, to).
func readMarks(ctx context.Context, conn driver.Conn, from, to time.Time) (hourMarks, error) {
	rows, err := conn.Query(ctx, `SELECT 'data', hour, count() FROM rollup_dirty
WHERE hour >= toDateTime(@from) AND hour < toDateTime(@to) GROUP BY hour
UNION ALL
SELECT 'topics', hour, count() FROM topic_dirty
WHERE hour >= toDateTime(@from) AND hour < toDateTime(@to) GROUP BY hour`, clickhouse.Named("from", from.Unix()), clickhouse.Named("to", to.Unix()))
	if err != nil {
		return hourMarks{}, fmt.Errorf("reading rollup_dirty and topic_dirty: %w", err)
	}
	defer rows.Close()
	out := hourMarks{data: map[time.Time]uint64{}, topics: map[time.Time]uint64{}}
	for rows.Next() {
		var (
			kind string
			h    time.Time
			n    uint64
		)
		if err := rows.Scan(&kind, &h, &n); err != nil {
			return hourMarks{}, fmt.Errorf("reading rollup_dirty and topic_dirty: %w", err)
		}
		if kind == "data" {
			out.data[h.UTC()] = n
		} else {
			out.topics[h.UTC()] = n
		}
	}
	return out, rows.Err()
}

type partKey struct {
	table string
	day   time.Time
}

// partState is what system.parts says of a partition: the highest block
// number of its active parts, and their rows.
type partState struct {
	block int64
	rows  uint64
}

// readBlocks returns the state of each day partition of the worker's
// tables over [from, to); a partition with no part is absent (zero).
func readBlocks(ctx context.Context, conn driver.Conn, from, to time.Time) (map[partKey]partState, error) {
	rows, err := conn.Query(ctx, `SELECT table, partition_id, max(max_block_number), sum(rows) FROM system.parts
WHERE database = currentDatabase() AND active AND has(@tables, table)
  AND partition_id >= @from AND partition_id < @to
GROUP BY table, partition_id`,
		clickhouse.Named("tables", tables),
		clickhouse.Named("from", from.Format("20060102")), clickhouse.Named("to", to.Format("20060102")))
	if err != nil {
		return nil, fmt.Errorf("reading the parts of the rollup tables: %w", err)
	}
	defer rows.Close()
	out := map[partKey]partState{}
	for rows.Next() {
		var (
			table, id string
			p         partState
		)
		if err := rows.Scan(&table, &id, &p.block, &p.rows); err != nil {
			return nil, fmt.Errorf("reading the parts of the rollup tables: %w", err)
		}
		day, err := time.Parse("20060102", id)
		if err != nil {
			return nil, fmt.Errorf("partition %q of %s: %w", id, table, err)
		}
		out[partKey{table, day}] = p
	}
	return out, rows.Err()
}

// Unrolled returns the start of the first hour whose rows of mentions
// table's rollup may not hold yet: the earliest marked hour not done, or
// the current hour (never rolled up), whichever is first.
func Unrolled(ctx context.Context, conn driver.Conn, table string, now time.Time) (time.Time, error) {
	cur := now.UTC().Truncate(time.Hour)
	var first time.Time
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count(), min(hour) FROM rollup_dirty WHERE hour < toDateTime(@now)",
		clickhouse.Named("now", cur.Unix())).Scan(&n, &first); err != nil {
		return time.Time{}, fmt.Errorf("reading rollup_dirty: %w", err)
	}
	if n == 0 {
		return cur, nil
	}
	st, err := Load(ctx, conn, first, cur)
	if err != nil {
		return time.Time{}, err
	}
	for h := first.UTC(); h.Before(cur); h = h.Add(time.Hour) {
		if st.marks.data[h] > 0 && !st.HourDone(table, h) {
			return h, nil
		}
	}
	return cur, nil
}

// DisplayTable is the table of posts per tag, spelling and day.
const DisplayTable = displayTable
