package aggregator

import (
	"context"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/segmentio/kafka-go"

	"tagpulse/internal/chstore"
	"tagpulse/internal/deletion"
	"tagpulse/internal/retry"
	"tagpulse/internal/rollup"
)

// committer commits the offsets of messages read in a consumer group: a
// *kafka.Reader.
type committer interface {
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

// sink stores batches: it writes a batch's rows to ClickHouse, its poison
// to the dead-letter topic, then commits its offsets, never in another
// order. It holds the offsets written but not yet committed (a failed
// commit is carried into the next one), so one goroutine at a time may
// hold it: the flusher hands it to the goroutine of each flush and gets it
// back with the flush's result.
type sink struct {
	store   driver.Conn
	dlq     *kafka.Writer // nil for a replay, which sends nothing there
	commits committer     // nil for a replay, which commits nothing
	retry   retrier
	backoff retry.Backoff
	timeout time.Duration // of one insert attempt
	// durability holds the per-insert settings (insert_quorum).
	durability chstore.Durability
	metrics    *Metrics
	health     *health
	log        *slog.Logger
	now        func() time.Time

	// pending holds, per partition, the last message written but not yet
	// committed.
	pending map[int]kafka.Message
}

// flush writes b's rows and poison, then commits its offsets with what a
// failed commit left pending.
func (s *sink) flush(ctx context.Context, b *batch) error {
	if err := s.write(ctx, b); err != nil {
		return err
	}
	if len(b.poison) > 0 {
		if err := s.retry.do(ctx, opDLQ, kindDLQ, func(ctx context.Context) error { return sendDLQ(ctx, s.dlq, b.poison) }); err != nil {
			return err
		}
		for _, p := range b.poison {
			s.metrics.DLQMessages.WithLabelValues(p.Reason).Inc()
		}
	}
	for p, m := range b.last {
		s.pending[p] = m
	}
	if err := s.commit(ctx); err != nil {
		return err
	}
	s.health.flushed()
	s.metrics.LastFlush.Set(float64(s.now().UnixNano()) / 1e9)
	s.log.Debug("flushed", "messages", b.messages, "rows", b.rows.Len(), "poison", len(b.poison))
	return nil
}

// write inserts the batch's rows, retrying what can be retried, and
// records the insert metrics.
func (s *sink) write(ctx context.Context, b *batch) error {
	if b.rows.Len() == 0 && len(b.tombstones) == 0 {
		return nil
	}
	start := time.Now()
	hours := b.markedHours()
	// The rows, then the marks of their hours for the rollup, both before
	// the commit: a committed offset means the rows are stored and the
	// rollup knows their hours changed. A retry repeats both; copies fold
	// and a second mark costs a recompute at most.
	err := s.retry.do(ctx, opInsert, kindInsert, func(ctx context.Context) error {
		ictx, cancel := context.WithTimeout(ctx, s.timeout)
		defer cancel()
		if err := b.rows.Insert(ictx, s.store, s.durability); err != nil {
			return err
		}
		if err := b.posts.Insert(ictx, s.store, s.durability); err != nil {
			return err
		}
		// The tombstones after the posts: a post and its delete in one
		// batch is found, and deleted at once.
		deleted, err := deletion.Store(s.durability.Context(ictx), s.store, b.tombstones, s.now())
		if err != nil {
			return err
		}
		return rollup.Mark(ictx, s.store, append(hours, deleted...), s.now())
	})
	if err != nil {
		return err
	}
	s.health.stored()
	now := s.now()
	s.metrics.InsertDuration.Observe(time.Since(start).Seconds())
	s.metrics.BatchSize.Observe(float64(b.rows.Len()))
	s.metrics.RowsInserted.WithLabelValues("mentions").Add(float64(b.rows.Len()))
	s.metrics.RowsInserted.WithLabelValues("posts").Add(float64(b.posts.Len()))
	s.metrics.Tombstones.Add(float64(len(b.tombstones)))
	for _, st := range b.times {
		s.metrics.Freshness.WithLabelValues("created_at").Observe(now.Sub(st.created).Seconds())
		if !st.kafka.IsZero() {
			s.metrics.Freshness.WithLabelValues("kafka").Observe(now.Sub(st.kafka).Seconds())
		}
	}
	return nil
}

// commitAttempts bounds the attempts of one commit. A commit that still
// fails (the group is rebalancing, this member lost its partitions) is
// carried into the next one; meanwhile its messages may be read again by
// another member, which the schema absorbs.
const commitAttempts = 5

// commit commits the pending offsets; it returns an error only when ctx
// ends.
func (s *sink) commit(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, 0, len(s.pending))
	for _, m := range s.pending {
		msgs = append(msgs, m)
	}
	p := retry.Policy{
		Backoff:  s.backoff,
		Attempts: commitAttempts,
		OnFail: func(f retry.Failure) {
			s.metrics.Errors.WithLabelValues(kindCommit).Inc()
			s.log.Warn("committing offsets", "attempt", f.Attempt, "err", f.Err)
			if !f.Last {
				s.metrics.Retries.WithLabelValues(opCommit).Inc()
			}
		},
	}
	err := p.Do(ctx, func(ctx context.Context) error { return s.commits.CommitMessages(ctx, msgs...) })
	switch {
	case err == nil:
		clear(s.pending)
	case ctx.Err() != nil:
		return ctx.Err()
	default:
		s.log.Warn("offsets not committed; carried into the next commit", "err", err)
	}
	return nil
}

// flushed is the result of one flush, handing the sink and the batch back.
type flushed struct {
	sink  *sink
	batch *batch
	err   error
}

// flusher writes one batch in the background while the loop reads and
// decodes the next, so ClickHouse's insert and the consumer's decoding
// overlap instead of taking turns. One batch at a time: a batch starts only
// after the previous one is stored and committed, so commits stay in offset
// order, and the consumer holds at most two batches (the one being written
// and the one being filled).
//
// The flush goroutine owns the sink and the batch in flight; it hands both
// back through done. Only the loop's goroutine calls the flusher's
// methods.
type flusher struct {
	sink   *sink        // nil while a flush holds it
	done   chan flushed // the result of the flush in flight
	failed *batch       // the batch whose flush failed: nothing after it may be committed
	err    error        // its error

	// spare is the rows arrays of the last stored batch, emptied, for the
	// next batch to fill: a batch's rows grow to --batch-rows, and growing
	// a fresh slice each time copies and collects them over and over.
	spare      chstore.Mentions
	sparePosts chstore.Posts
}

func newFlusher(s *sink) *flusher { return &flusher{sink: s, done: make(chan flushed, 1)} }

// flying reports whether a flush holds the sink.
func (f *flusher) flying() bool { return f.sink == nil }

// send starts writing b once the batch in flight is stored; it returns that
// batch's error instead, leaving b to the caller.
func (f *flusher) send(ctx context.Context, b *batch) error {
	if err := f.wait(); err != nil {
		return err
	}
	s := f.sink
	f.sink = nil
	go func() { f.done <- flushed{sink: s, batch: b, err: s.flush(ctx, b)} }()
	return nil
}

// wait waits for the batch in flight and returns the error of the last
// flush, if it failed.
func (f *flusher) wait() error {
	if f.flying() {
		f.settle(<-f.done)
	}
	return f.err
}

// idle reports, without waiting, whether no batch is being written.
func (f *flusher) idle() bool {
	if !f.flying() {
		return true
	}
	select {
	case r := <-f.done:
		f.settle(r)
		return true
	default:
		return false
	}
}

func (f *flusher) settle(r flushed) {
	f.sink = r.sink
	if r.err != nil {
		f.failed, f.err = r.batch, r.err
		return
	}
	f.spare, f.sparePosts = r.batch.rows, r.batch.posts
	f.spare.Reset() // drops the strings, so the arrays hold no post
	f.sparePosts.Reset()
}

// next returns an empty batch, reusing the rows array of the last stored
// batch when there is one.
func (f *flusher) next() *batch {
	b := newBatch()
	b.rows, f.spare = f.spare, chstore.Mentions{}
	b.posts, f.sparePosts = f.sparePosts, chstore.Posts{}
	return b
}

// flushNow waits for the flush in flight, then stores b in this goroutine:
// the last flushes at shutdown.
func (f *flusher) flushNow(ctx context.Context, b *batch) error {
	f.wait()
	return f.sink.flush(ctx, b)
}

// pending reports whether the sink holds offsets not yet committed. Call
// it only when no flush is in flight.
func (f *flusher) pending() bool { return len(f.sink.pending) > 0 }
