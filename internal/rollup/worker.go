package rollup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/deletion"
)

// recomputeTimeout bounds the queries of one day's recompute, on the server
// as well.
const recomputeTimeout = 10 * time.Minute

// Worker recomputes the tier tables' day partitions whose hours gained
// rows. Several workers (one per aggregator) may run at once: each stages
// in tables of its own, and the checks before a record make the last
// REPLACE the only one trusted (see the package comment).
type Worker struct {
	conn    driver.Conn
	stage   string // suffix of this worker's staging tables
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time
	// batchRows bounds the rows of mentions one batch stages (see
	// batches); maxBatchRows but in tests.
	batchRows uint64
}

// NewWorker returns a worker on conn's database. metrics may be nil.
func NewWorker(conn driver.Conn, log *slog.Logger, metrics *Metrics) *Worker {
	var b [4]byte
	_, _ = rand.Read(b[:])
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{conn: conn, stage: hex.EncodeToString(b[:]), log: log, metrics: metrics, now: time.Now, batchRows: maxBatchRows}
}

// Backlog is what the rollup has still to do: the days whose rows are not
// up to date, oldest first, and how long the oldest mark of them has
// waited.
type Backlog struct {
	Days   []time.Time
	Oldest time.Duration
	// topicsOnly are the days of Days whose only stale tables are the
	// topic tiers (a topic edit): only those are recomputed.
	topicsOnly map[time.Time]bool
}

// Backlog lists the days the worker has to recompute: a day with an ended
// hour whose marks differ from the worker's last record of it (or with no
// record), a day whose record is no longer valid, and an ended day whose
// day rows are not written yet. The current hour is never rolled up: no
// window that ends now holds it whole.
func (w *Worker) Backlog(ctx context.Context) (Backlog, error) {
	nowHour := w.now().UTC().Truncate(time.Hour)
	rows, err := w.conn.Query(ctx, `SELECT toStartOfDay(hour) AS day, min(hour), min(marked_at) FROM rollup_dirty
WHERE hour < toDateTime(@now) GROUP BY day ORDER BY day`, clickhouse.Named("now", nowHour.Unix()))
	if err != nil {
		return Backlog{}, fmt.Errorf("reading rollup_dirty: %w", err)
	}
	type marked struct {
		day, first time.Time
		at         time.Time
	}
	var days []marked
	for rows.Next() {
		var m marked
		if err := rows.Scan(&m.day, &m.first, &m.at); err != nil {
			rows.Close()
			return Backlog{}, fmt.Errorf("reading rollup_dirty: %w", err)
		}
		days = append(days, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Backlog{}, fmt.Errorf("reading rollup_dirty: %w", err)
	}
	if len(days) == 0 {
		return Backlog{}, nil
	}
	st, err := Load(ctx, w.conn, days[0].day, days[len(days)-1].day.Add(24*time.Hour))
	if err != nil {
		return Backlog{}, err
	}
	out := Backlog{topicsOnly: map[time.Time]bool{}}
	for _, m := range days {
		day := m.day.UTC()
		stale := w.staleTables(st, day, nowHour)
		if len(stale) == 0 {
			continue
		}
		out.Days = append(out.Days, day)
		if !slices.ContainsFunc(stale, func(t string) bool { return !topicTables(t) }) {
			out.topicsOnly[day] = true
		}
		if age := w.now().Sub(m.at); age > out.Oldest {
			out.Oldest = age
		}
	}
	return out, nil
}

// staleTables returns the tables whose rows of day are not up to date as
// far as the day's ended hours go.
func (w *Worker) staleTables(st *State, day, nowHour time.Time) []string {
	until := rolledUntil(day, nowHour)
	var out []string
	for _, t := range []string{TagTiers.Hour, TopicTiers.Hour, PostTiers.Hour, displayTable} {
		r, ok := st.done[t][day]
		current := ok && !r.until.Before(until)
		for h := day; current && h.Before(until); h = h.Add(time.Hour) {
			current = st.HourDone(t, h)
		}
		if !current {
			out = append(out, t)
		}
	}
	if until.Equal(day.Add(24 * time.Hour)) {
		for _, t := range []string{TagTiers.Day, TopicTiers.Day, PostTiers.Day} {
			if !st.DayDone(t, day) {
				out = append(out, t)
			}
		}
	}
	return out
}

// Round recomputes every day of the backlog and returns how many it did.
// A day whose check fails (another worker swapped it meanwhile) is left
// for the next round.
func (w *Worker) Round(ctx context.Context) (int, error) {
	if err := w.resolveDeletions(ctx); err != nil {
		return 0, err
	}
	b, err := w.Backlog(ctx)
	if err != nil {
		return 0, err
	}
	w.metrics.backlog(b)
	return w.recompute(ctx, b, io.Discard)
}

// resolveDeletions drops the pending tombstones past their time, moves
// those whose posts are now stored to deletions (internal/deletion) and
// marks the posts' hours, so this round recomputes them.
func (w *Worker) resolveDeletions(ctx context.Context) error {
	if _, err := deletion.Expire(ctx, w.conn, w.now()); err != nil {
		return err
	}
	hours, err := deletion.Resolve(ctx, w.conn, w.now())
	if err != nil {
		return err
	}
	if len(hours) > 0 {
		w.log.Info("deleted posts found for pending tombstones", "hours", len(hours))
	}
	return Mark(ctx, w.conn, hours, w.now())
}

// recompute recomputes the backlog's days in batches (see batches), the
// days only topic edits changed in batches of their own that rewrite only
// the topic tiers, writing a line per batch to progress, and returns how
// many days it did.
func (w *Worker) recompute(ctx context.Context, b Backlog, progress io.Writer) (int, error) {
	var all, topics []time.Time
	for _, d := range b.Days {
		if b.topicsOnly[d] {
			topics = append(topics, d)
		} else {
			all = append(all, d)
		}
	}
	n := 0
	for _, part := range []struct {
		days    []time.Time
		targets func(string) bool
		what    string
	}{{all, allTables, "days"}, {topics, topicTables, "topic tiers of days"}} {
		batches, err := w.batches(ctx, part.days)
		if err != nil {
			return n, err
		}
		for _, batch := range batches {
			start := time.Now()
			if err := w.recomputeDays(ctx, batch, part.targets); err != nil {
				return n, err
			}
			n += len(batch)
			fmt.Fprintf(progress, "rollup: %s %s to %s (%d/%d), %.1f s\n", part.what, batch[0].Format(time.DateOnly), batch[len(batch)-1].Format(time.DateOnly),
				n, len(b.Days), time.Since(start).Seconds())
		}
	}
	return n, nil
}

// Run does a round every interval until ctx ends, logging failures (the
// next round retries them).
func (w *Worker) Run(ctx context.Context, interval time.Duration) {
	defer w.dropStaging(context.WithoutCancel(ctx))
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := w.Round(ctx); err != nil && ctx.Err() == nil {
			w.metrics.failed()
			w.log.Warn("rolling up; retried next round (reads stay exact meanwhile)", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ErrStillBehind is CatchUp's error when other writers (aggregators
// storing, other workers swapping) keep changing days faster than it can
// settle them. Reads stay exact meanwhile.
var ErrStillBehind = errors.New("still behind")

// CatchUp does rounds until the backlog is empty, writing a line per batch
// of days to progress.
func (w *Worker) CatchUp(ctx context.Context, progress io.Writer) error {
	defer w.dropStaging(context.WithoutCancel(ctx))
	if err := w.resolveDeletions(ctx); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		b, err := w.Backlog(ctx)
		if err != nil {
			return err
		}
		w.metrics.backlog(b)
		if len(b.Days) == 0 {
			return nil
		}
		if attempt == 10 {
			return fmt.Errorf("rollup: %d days %w after 10 rounds: another writer keeps changing them", len(b.Days), ErrStillBehind)
		}
		if _, err := w.recompute(ctx, b, progress); err != nil {
			return err
		}
	}
}

// batches groups days (in order) into the batches RecomputeDays stages at
// once: at most maxBatchDays days and, unless a day alone is more, at most
// w.batchRows rows of mentions, so a round's memory stays bounded
// whatever the history's density.
func (w *Worker) batches(ctx context.Context, days []time.Time) ([][]time.Time, error) {
	if len(days) == 0 {
		return nil, nil
	}
	rows, err := w.conn.Query(ctx, `SELECT partition_id, sum(rows) FROM system.parts
WHERE database = currentDatabase() AND table = 'mentions' AND active GROUP BY partition_id`)
	if err != nil {
		return nil, fmt.Errorf("reading the size of mentions' days: %w", err)
	}
	size := map[string]uint64{}
	for rows.Next() {
		var (
			id string
			n  uint64
		)
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading the size of mentions' days: %w", err)
		}
		size[id] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the size of mentions' days: %w", err)
	}
	var out [][]time.Time
	var cur []time.Time
	var curRows uint64
	for _, d := range days {
		n := size[d.Format("20060102")]
		if len(cur) > 0 && (len(cur) == maxBatchDays || curRows+n > w.batchRows) {
			out = append(out, cur)
			cur, curRows = nil, 0
		}
		cur = append(cur, d)
		curRows += n
	}
	return append(out, cur), nil
}
