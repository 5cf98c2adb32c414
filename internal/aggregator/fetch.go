package aggregator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// fetcher reads the next message of the group's partitions, retrying
// failed fetches with backoff, and tells health whether Kafka answers.
type fetcher struct {
	reader *kafka.Reader
	topic  string
	retry  retrier
	health *health
	fetch  fetchContext
}

// next returns the next message, or ok false when deadline passed first.
// Its error is ctx's when ctx ended, or an error Retryable rejects.
func (f *fetcher) next(ctx context.Context, deadline time.Time) (kafka.Message, bool, error) {
	m, ok, err := f.once(ctx, deadline)
	if err == nil {
		// The path of nearly every message: no retry policy is built.
		f.health.fetched(true)
		return m, ok, nil
	}
	failed := err
	p := f.retry.policy(opFetch, kindFetch)
	err = p.Do(ctx, func(ctx context.Context) error {
		if first := failed; first != nil { // the first attempt is the fetch above
			failed = nil
			return first
		}
		var err error
		m, ok, err = f.once(ctx, deadline)
		return err
	})
	switch {
	case ctx.Err() != nil:
		return m, false, ctx.Err()
	case err != nil:
		return m, false, fmt.Errorf("fetching from %s: %w", f.topic, err)
	}
	f.health.fetched(true)
	return m, ok, nil
}

// once fetches once; reaching deadline is ok false, not an error.
func (f *fetcher) once(ctx context.Context, deadline time.Time) (kafka.Message, bool, error) {
	m, err := f.reader.FetchMessage(f.fetch.with(ctx, deadline))
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return m, false, nil
	}
	return m, err == nil, err
}

// stop releases the fetch context.
func (f *fetcher) stop() { f.fetch.stop() }

// fetchContext is the context of the reader's fetches, kept while their
// deadline stays the same: every fetch of a batch has the batch's flush
// deadline, and a context with a deadline (and its timer) per message was
// a tenth of the consumer's CPU.
type fetchContext struct {
	ctx      context.Context
	cancel   context.CancelFunc
	deadline time.Time
}

func (f *fetchContext) with(parent context.Context, deadline time.Time) context.Context {
	if f.ctx == nil || !deadline.Equal(f.deadline) {
		f.stop()
		f.ctx, f.cancel = context.WithDeadline(parent, deadline)
		f.deadline = deadline
	}
	return f.ctx
}

func (f *fetchContext) stop() {
	if f.cancel != nil {
		f.cancel()
	}
}
