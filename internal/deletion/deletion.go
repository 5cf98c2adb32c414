// Package deletion keeps the posts deleted at their source out of every
// count (docs/exactly-once.md, "Deletions"). A deleted post's rows stay in
// mentions; what changes is what counts:
//
//   - Store writes the tombstones of a batch: a tombstone whose post's
//     time is known (given, or found in the posts table) becomes a row of
//     deletions, keyed by the post's hour, and that hour is returned so the
//     caller marks it for the rollup; the post's row in posts is replaced
//     by one without author, link or text. A tombstone whose post is not
//     stored (yet) waits in deletions_pending.
//   - Resolve, run by the rollup worker every round, looks the pending
//     tombstones' posts up in posts and moves the ones it finds to
//     deletions, returning their hours to mark.
//   - NotDeletedSQL is the condition every read of mentions and every
//     recompute of the rollups adds, so a deleted post counts nowhere, as
//     soon as its tombstone is stored.
//
// Only SQL on the deletions, deletions_pending and posts tables lives
// here; marking hours is the caller's (internal/rollup).
package deletion

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chinsert"
)

// PendingDays is how long a tombstone whose post is not stored is kept,
// by the day it was stored: a post arriving up to this long after its
// delete never counts. It is the default retention of the posts topic,
// beyond which Kafka holds no late copy of the post anyway.
const PendingDays = 7

// MaxPerBatch bounds the tombstones of one batch, so that the look-up of
// their posts' times stays one bounded query: the aggregator flushes a
// batch that holds this many.
const MaxPerBatch = 2000

// Tombstone is one post deleted at its source.
type Tombstone struct {
	PostID string
	// CreatedAt is the post's own time, zero when the tombstone did not
	// carry it.
	CreatedAt time.Time
	// DeletedAt is when the delete reached tagpulse (its Kafka time).
	DeletedAt time.Time
}

// NotDeletedSQL returns the condition that keeps the rows of mentions
// whose post was not deleted. rangeCond is the read's own condition on
// created_at (the deletions of those hours are the ones that can match);
// it is spliced twice, so its bound values must be named. The subqueries
// are GLOBAL: on a cluster (docs/scaling.md) the server that takes the
// read gathers the tombstones once and sends them with the query to every
// shard; on one server GLOBAL changes nothing.
func NotDeletedSQL(rangeCond string) string {
	return "post_id GLOBAL NOT IN (SELECT post_id FROM deletions WHERE " + rangeCond + ")" +
		" AND post_id GLOBAL NOT IN (SELECT post_id FROM deletions_pending)"
}

// Store writes tombstones (at most MaxPerBatch) as the package comment
// says, and returns the hours of the posts now known deleted, for the
// caller to mark. Writing the same tombstones again changes nothing: rows
// fold, and marks repeat.
func Store(ctx context.Context, conn driver.Conn, tombstones []Tombstone, now time.Time) ([]time.Time, error) {
	if len(tombstones) == 0 {
		return nil, nil
	}
	var undated []string
	for _, t := range tombstones {
		if t.CreatedAt.IsZero() {
			undated = append(undated, t.PostID)
		}
	}
	found, err := postTimes(ctx, conn, undated)
	if err != nil {
		return nil, err
	}
	var dated []Tombstone
	var pending []Tombstone
	for _, t := range tombstones {
		if t.CreatedAt.IsZero() {
			created, ok := found[t.PostID]
			if !ok {
				pending = append(pending, t)
				continue
			}
			t.CreatedAt = created
		}
		dated = append(dated, t)
	}
	if err := insertDated(ctx, conn, dated, now); err != nil {
		return nil, err
	}
	if err := insertPending(ctx, conn, pending, 0, now); err != nil {
		return nil, err
	}
	return hoursOf(dated), nil
}

// Resolve moves the pending tombstones whose posts are now stored to
// deletions, and returns the posts' hours for the caller to mark.
func Resolve(ctx context.Context, conn driver.Conn, now time.Time) ([]time.Time, error) {
	rows, err := conn.Query(ctx, `SELECT id, min(created_at), any(pending_deleted_at)
FROM posts
ANY INNER JOIN (
    SELECT post_id AS id, argMax(deleted_at, inserted_at) AS pending_deleted_at
    FROM deletions_pending
    GROUP BY post_id
    HAVING argMax(resolved, inserted_at) = 0
) AS pending USING id
WHERE id IN (SELECT post_id FROM deletions_pending)
GROUP BY id`)
	if err != nil {
		return nil, fmt.Errorf("looking up the posts of pending deletions: %w", err)
	}
	var found []Tombstone
	for rows.Next() {
		var t Tombstone
		if err := rows.Scan(&t.PostID, &t.CreatedAt, &t.DeletedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading the posts of pending deletions: %w", err)
		}
		found = append(found, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the posts of pending deletions: %w", err)
	}
	if len(found) == 0 {
		return nil, nil
	}
	// Dated first: until they are, the pending rows keep the posts out.
	if err := insertDated(ctx, conn, found, now); err != nil {
		return nil, err
	}
	if err := insertPending(ctx, conn, found, 1, now); err != nil {
		return nil, err
	}
	return hoursOf(found), nil
}

// maxQueryIDBytes bounds the ids one look-up sends: they are spliced into
// the query's text, which ClickHouse bounds (max_query_size, 256 KiB).
const maxQueryIDBytes = 96 << 10

// Expire drops the partitions of deletions_pending stored more than
// PendingDays before now (a metadata operation), and returns how many.
func Expire(ctx context.Context, conn driver.Conn, now time.Time) (int, error) {
	cutoff := now.UTC().AddDate(0, 0, -PendingDays).Format("20060102")
	rows, err := conn.Query(ctx, `SELECT DISTINCT partition FROM system.parts
WHERE database = currentDatabase() AND table = 'deletions_pending' AND active AND partition < @cutoff`, clickhouse.Named("cutoff", cutoff))
	if err != nil {
		return 0, fmt.Errorf("listing the partitions of deletions_pending: %w", err)
	}
	var old []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("listing the partitions of deletions_pending: %w", err)
		}
		old = append(old, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("listing the partitions of deletions_pending: %w", err)
	}
	for i, id := range old {
		if !isDigits(id) {
			return i, fmt.Errorf("partition %q of deletions_pending: want YYYYMMDD", id)
		}
		// ALTER takes no bound parameter; id is only digits.
		if err := conn.Exec(ctx, "ALTER TABLE deletions_pending DROP PARTITION "+id); err != nil {
			return i, fmt.Errorf("dropping partition %s of deletions_pending: %w", id, err)
		}
	}
	return len(old), nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// postTimes returns the created_at of those of ids that are in posts, in
// as many look-ups as the ids' sizes need.
func postTimes(ctx context.Context, conn driver.Conn, ids []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for len(ids) > 0 {
		n, size := 0, 0
		for n < len(ids) && (n == 0 || size+len(ids[n]) <= maxQueryIDBytes) {
			size += len(ids[n]) + 4
			n++
		}
		if err := lookUp(ctx, conn, ids[:n], out); err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return out, nil
}

func lookUp(ctx context.Context, conn driver.Conn, ids []string, out map[string]time.Time) error {
	rows, err := conn.Query(ctx, "SELECT id, min(created_at) FROM posts WHERE id IN (SELECT arrayJoin(@ids)) GROUP BY id", clickhouse.Named("ids", ids))
	if err != nil {
		return fmt.Errorf("looking up the times of %d deleted posts: %w", len(ids), err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return fmt.Errorf("reading the times of deleted posts: %w", err)
		}
		out[id] = at.UTC()
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading the times of deleted posts: %w", err)
	}
	return nil
}

// insertDated writes rows of deletions for tombstones whose post's time is
// known, and replaces their posts' rows by rows with no author, link or
// text.
func insertDated(ctx context.Context, conn driver.Conn, ts []Tombstone, now time.Time) error {
	if len(ts) == 0 {
		return nil
	}
	ids, created, deleted, inserted := columns(ts, now)
	if err := chinsert.Columns(ctx, conn, "deletions", "post_id, created_at, deleted_at, inserted_at", ids, created, deleted, inserted); err != nil {
		return err
	}
	// A newer row of the same post: reads take it (LIMIT 1 BY id after
	// ORDER BY inserted_at DESC), merges keep only it. inserted_at counts
	// seconds, and the post may have been stored in this same second (in
	// this flush, or just before the worker resolved its pending
	// tombstone): the blank row is dated a second later, so it wins.
	later := make([]time.Time, len(inserted))
	for i, at := range inserted {
		later[i] = at.Add(time.Second)
	}
	return chinsert.Columns(ctx, conn, "posts", "id, created_at, inserted_at", ids, created, later)
}

// insertPending writes rows of deletions_pending with resolved set or not.
func insertPending(ctx context.Context, conn driver.Conn, ts []Tombstone, resolved uint8, now time.Time) error {
	if len(ts) == 0 {
		return nil
	}
	ids, _, deleted, inserted := columns(ts, now)
	flags := make([]uint8, len(ts))
	for i := range flags {
		flags[i] = resolved
	}
	return chinsert.Columns(ctx, conn, "deletions_pending", "post_id, deleted_at, resolved, inserted_at", ids, deleted, flags, inserted)
}

func columns(ts []Tombstone, now time.Time) (ids []string, created, deleted, inserted []time.Time) {
	for _, t := range ts {
		ids = append(ids, t.PostID)
		created = append(created, t.CreatedAt.UTC())
		deleted = append(deleted, t.DeletedAt.UTC())
		inserted = append(inserted, now.UTC())
	}
	return ids, created, deleted, inserted
}

// hoursOf returns the distinct hours of the tombstones' posts, in order.
func hoursOf(ts []Tombstone) []time.Time {
	var out []time.Time
	for _, t := range ts {
		out = append(out, t.CreatedAt.UTC().Truncate(time.Hour))
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return slices.CompactFunc(out, func(a, b time.Time) bool { return a.Equal(b) })
}
