package aggregator

import (
	"context"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/chstore"
)

// flusher writes one batch in the background while the loop reads and
// decodes the next, so ClickHouse's insert and the consumer's decoding
// overlap instead of taking turns. One batch at a time: a batch starts only
// after the previous one is stored and committed, so commits stay in offset
// order, and the consumer holds at most two batches (the one being written
// and the one being filled).
//
// Only the loop's goroutine calls its methods; the flush goroutine and the
// loop hand over through done.
type flusher struct {
	c      *Consumer
	reader *kafka.Reader
	dlq    *kafka.Writer

	flying *batch     // the batch being written, or the one that failed
	done   chan error // the result of flying's flush
	err    error      // flying's flush failed: nothing after it may be committed

	// spare is the rows arrays of the last stored batch, emptied, for the
	// next batch to fill: a batch's rows grow to --batch-rows, and growing
	// a fresh slice each time copies and collects them over and over.
	spare chstore.Mentions
}

func newFlusher(c *Consumer, reader *kafka.Reader, dlq *kafka.Writer) *flusher {
	return &flusher{c: c, reader: reader, dlq: dlq, done: make(chan error, 1)}
}

// send starts writing b once the batch in flight is stored; it returns that
// batch's error instead, leaving b to the caller.
func (f *flusher) send(ctx context.Context, b *batch) error {
	if err := f.wait(); err != nil {
		return err
	}
	f.flying = b
	go func() { f.done <- f.c.flush(ctx, b, f.reader, f.dlq) }()
	return nil
}

// wait waits for the batch in flight and returns its error.
func (f *flusher) wait() error {
	if f.flying != nil && f.err == nil {
		f.settle(<-f.done)
	}
	return f.err
}

// idle reports, without waiting, whether no batch is being written.
func (f *flusher) idle() bool {
	if f.flying == nil || f.err != nil {
		return true
	}
	select {
	case err := <-f.done:
		f.settle(err)
		return true
	default:
		return false
	}
}

func (f *flusher) settle(err error) {
	f.err = err
	if err == nil {
		f.spare = f.flying.rows
		f.spare.Reset() // drops the strings, so the arrays hold no post
		f.flying = nil
	}
}

// next returns an empty batch, reusing the rows array of the last stored
// batch when there is one.
func (f *flusher) next() *batch {
	b := newBatch()
	b.rows, f.spare = f.spare, chstore.Mentions{}
	return b
}

// failed returns the batch whose flush failed, if any.
func (f *flusher) failed() *batch {
	if f.err != nil {
		return f.flying
	}
	return nil
}
