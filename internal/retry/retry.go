// Package retry is the one retry and backoff of tagpulse: ingest's
// sources, the aggregator's inserts, fetches, dead-letter writes and
// commits, the aggregate command's start-up and the test harness all wait
// between attempts with Backoff and loop with Policy.Do.
//
// The jitter formula, the only one in the project, is "equal jitter": the
// wait before retry n is d = Min·2^(n-1) capped at Max, then drawn
// uniformly from [d/2, d]. Half of d keeps the backoff growing; the random
// other half keeps replicas and sources that failed together from
// retrying in step.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is a capped exponential backoff with equal jitter.
type Backoff struct {
	// Min is the base of the first retry; Max caps every wait.
	Min, Max time.Duration
}

// Base returns the wait before retry number attempt (1 for the first
// retry) without jitter: Min doubled attempt-1 times, capped at Max.
func (b Backoff) Base(attempt int) time.Duration {
	d := b.Min
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Delay returns the wait before retry number attempt: Base(attempt) = d,
// drawn uniformly from [d/2, d].
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Base(attempt)
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// Sleep waits d or until ctx ends, and returns ctx.Err() in the second
// case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Policy says how Do retries.
type Policy struct {
	Backoff Backoff
	// Attempts bounds the calls of fn; 0 means no bound (until fn succeeds,
	// fails for good or ctx ends).
	Attempts int
	// Retryable says whether an error is worth another attempt; nil means
	// every error is.
	Retryable func(error) bool
	// OnFail, when set, is called after every failed attempt, but not
	// once ctx has ended.
	OnFail func(Failure)
	// OnRecover, when set, is called after a success that followed
	// failures, with the number of the attempt that succeeded.
	OnRecover func(attempt int)
}

// Failure describes one failed attempt of Do.
type Failure struct {
	// Attempt is the number of the attempt that failed, from 1.
	Attempt int
	// Err is its error.
	Err error
	// Last is true when no attempt follows: Err is not retryable or the
	// attempts are spent.
	Last bool
	// Wait is the wait before the next attempt (0 when Last).
	Wait time.Duration
}

// Do calls fn until it succeeds, fails with an error Retryable rejects,
// has been called Attempts times, or ctx ends. It returns nil, fn's last
// error, or ctx.Err().
func (p Policy) Do(ctx context.Context, fn func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			if attempt > 1 && p.OnRecover != nil {
				p.OnRecover(attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		f := Failure{Attempt: attempt, Err: err}
		f.Last = (p.Attempts > 0 && attempt >= p.Attempts) || (p.Retryable != nil && !p.Retryable(err))
		if !f.Last {
			f.Wait = p.Backoff.Delay(attempt)
		}
		if p.OnFail != nil {
			p.OnFail(f)
		}
		if f.Last {
			return err
		}
		if err := Sleep(ctx, f.Wait); err != nil {
			return err
		}
	}
}
