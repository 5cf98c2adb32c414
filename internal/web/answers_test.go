package web

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// TestAnswersKeepShareAndBound exercises the answer cache without a
// server: expiry, the bound on kept answers, errors not kept, and a
// waiting caller asking again when the caller it waited for went away.
func TestAnswersKeepShareAndBound(t *testing.T) {
	ctx := context.Background()
	var runs atomic.Int64
	answer := func(s string) func(context.Context) ([]byte, error) {
		return func(context.Context) ([]byte, error) { runs.Add(1); return []byte(s), nil }
	}

	t.Run("kept until the TTL ends", func(t *testing.T) {
		runs.Store(0)
		a := newAnswers(1, time.Minute)
		clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		a.now = func() time.Time { return clock }
		for i := 0; i < 3; i++ {
			if b, _, err := a.get(ctx, "k", answer("one")); err != nil || string(b) != "one" {
				t.Fatalf("got %q, %v", b, err)
			}
		}
		clock = clock.Add(time.Minute)
		if b, hit, _ := a.get(ctx, "k", answer("two")); string(b) != "two" || hit {
			t.Fatalf("after the TTL: %q (hit %v), want a new answer", b, hit)
		}
		if n := runs.Load(); n != 2 {
			t.Fatalf("%d runs, want 2", n)
		}
	})

	t.Run("errors are not kept", func(t *testing.T) {
		a := newAnswers(1, time.Minute)
		boom := errors.New("boom")
		if _, _, err := a.get(ctx, "k", func(context.Context) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
			t.Fatalf("err %v", err)
		}
		if b, hit, err := a.get(ctx, "k", answer("ok")); err != nil || hit || string(b) != "ok" {
			t.Fatalf("after an error: %q hit %v err %v, want a fresh answer", b, hit, err)
		}
	})

	t.Run("at most maxCached answers", func(t *testing.T) {
		a := newAnswers(1, time.Hour)
		for i := 0; i < 3*maxCached; i++ {
			a.get(ctx, fmt.Sprint(i), answer("x"))
		}
		if n := len(a.entries); n > maxCached {
			t.Fatalf("%d answers kept, want at most %d", n, maxCached)
		}
	})

	t.Run("a waiter asks again when the asker went away", func(t *testing.T) {
		a := newAnswers(2, time.Minute)
		leaderCtx, cancelLeader := context.WithCancel(ctx)
		started := make(chan struct{})
		leaderDone := make(chan error, 1)
		go func() {
			_, _, err := a.get(leaderCtx, "k", func(ctx context.Context) ([]byte, error) {
				close(started)
				<-ctx.Done()
				return nil, ctx.Err()
			})
			leaderDone <- err
		}()
		<-started
		waiter := make(chan string, 1)
		go func() {
			b, _, err := a.get(ctx, "k", answer("from the waiter"))
			waiter <- fmt.Sprintf("%s %v", b, err)
		}()
		time.Sleep(50 * time.Millisecond) // let the waiter find the running question
		cancelLeader()
		if err := <-leaderDone; !errors.Is(err, context.Canceled) {
			t.Fatalf("leader: %v", err)
		}
		if got := <-waiter; got != "from the waiter <nil>" {
			t.Fatalf("waiter got %q, want its own answer", got)
		}
	})

	t.Run("busy when every slot is taken", func(t *testing.T) {
		a := newAnswers(1, 0)
		hold := make(chan struct{})
		go a.get(ctx, "slow", func(context.Context) ([]byte, error) { <-hold; return nil, nil })
		for a.inFlight() == 0 {
			time.Sleep(time.Millisecond)
		}
		if _, _, err := a.get(ctx, "other", answer("x")); !errors.Is(err, errBusy) {
			t.Fatalf("err %v, want errBusy", err)
		}
		close(hold)
	})
}
