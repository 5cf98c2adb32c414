package web

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errBusy is the answer to a question that found every query slot taken.
var errBusy = errors.New("too many trend queries in flight")

// maxCached bounds the answers kept: parameters are bounded, but their
// combinations are many, and a client could ask each once.
const maxCached = 1024

// answers runs trend questions at most maxInFlight at a time and keeps each
// answer for ttl, so identical questions, asked at once or within ttl, cost
// one query. An answer is the encoded JSON body; failed questions are not
// kept.
type answers struct {
	ttl   time.Duration
	slots chan struct{}
	now   func() time.Time

	mu      sync.Mutex
	entries map[string]*answer
}

// answer is one question's answer; ready is closed once body and err are
// set, and neither changes after.
type answer struct {
	ready   chan struct{}
	body    []byte
	err     error
	expires time.Time
}

func newAnswers(maxInFlight int, ttl time.Duration) *answers {
	return &answers{ttl: ttl, slots: make(chan struct{}, maxInFlight), now: time.Now, entries: map[string]*answer{}}
}

// get returns the answer to the question key: a kept one, the one being
// computed (waiting for it), or a new one from run, if a query slot is
// free. hit says whether no query was run for this call. A caller whose
// context ends stops waiting; a question whose asker went away is asked
// again by the next waiting caller.
func (a *answers) get(ctx context.Context, key string, run func(context.Context) ([]byte, error)) (body []byte, hit bool, err error) {
	for {
		e, leader := a.lookup(key)
		if leader {
			body, err := a.compute(ctx, key, e, run)
			return body, false, err
		}
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
		if errors.Is(e.err, context.Canceled) && ctx.Err() == nil {
			continue // the asker went away, not this caller: ask again
		}
		return e.body, true, e.err
	}
}

// lookup returns the live entry for key, or a new one that the caller
// (the leader) must complete.
func (a *answers) lookup(key string) (e *answer, leader bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if e, ok := a.entries[key]; ok {
		select {
		case <-e.ready:
			if now.Before(e.expires) {
				return e, false
			}
		default:
			return e, false // being computed
		}
	}
	if len(a.entries) >= maxCached {
		a.evict(now)
	}
	e = &answer{ready: make(chan struct{})}
	a.entries[key] = e
	return e, true
}

// evict drops expired answers, then, if that was not enough, any
// finished ones. It runs with a.mu held.
func (a *answers) evict(now time.Time) {
	for k, e := range a.entries {
		select {
		case <-e.ready:
			if !now.Before(e.expires) || len(a.entries) >= maxCached {
				delete(a.entries, k)
			}
		default:
		}
	}
}

// compute runs the question in a query slot, or fails with errBusy when
// none is free, and publishes the result to the waiting callers.
func (a *answers) compute(ctx context.Context, key string, e *answer, run func(context.Context) ([]byte, error)) ([]byte, error) {
	select {
	case a.slots <- struct{}{}:
		func() {
			defer func() { <-a.slots }()
			e.body, e.err = run(ctx)
		}()
	default:
		e.err = errBusy
	}
	a.mu.Lock()
	e.expires = a.now().Add(a.ttl)
	if e.err != nil || a.ttl <= 0 {
		if a.entries[key] == e {
			delete(a.entries, key)
		}
	}
	a.mu.Unlock()
	close(e.ready)
	return e.body, e.err
}

// forget drops every kept answer, so the next questions are asked again:
// after an edit that changes answers (a topic's definition). Questions
// being computed finish for their callers, and are not kept.
func (a *answers) forget() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = map[string]*answer{}
}

// inFlight is the number of queries running now.
func (a *answers) inFlight() int { return len(a.slots) }
