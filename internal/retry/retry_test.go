package retry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 2 * time.Second}
	tests := []struct {
		attempt int
		base    time.Duration
	}{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {4, 800 * time.Millisecond}, {5, 1600 * time.Millisecond}, {6, 2 * time.Second}, {60, 2 * time.Second}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.attempt), func(t *testing.T) {
			if got := b.Base(tt.attempt); got != tt.base {
				t.Fatalf("Base(%d) = %s, want %s", tt.attempt, got, tt.base)
			}
			lo, hi := tt.base, time.Duration(0)
			for range 500 {
				d := b.Delay(tt.attempt)
				if d > tt.base || d < tt.base/2 {
					t.Fatalf("Delay(%d) = %s, want in [%s, %s]", tt.attempt, d, tt.base/2, tt.base)
				}
				lo, hi = min(lo, d), max(hi, d)
			}
			// Jitter spreads the waits: 500 draws from [d/2, d] all
			// landing in one quarter of it would mean no jitter.
			if hi-lo < tt.base/4 {
				t.Errorf("Delay(%d) spread over [%s, %s] only; want jitter over [d/2, d]", tt.attempt, lo, hi)
			}
		})
	}
}

var errPassing = errors.New("passing")
var errFatal = errors.New("fatal")

func TestPolicyDo(t *testing.T) {
	tests := []struct {
		name      string
		attempts  int
		results   []error // what fn returns call by call; nil after the end
		wantCalls int
		wantErr   error
		wantLast  int // attempt number reported Last, 0 for none
	}{
		{"first call succeeds", 0, nil, 1, nil, 0},
		{"recovers after two failures", 0, []error{errPassing, errPassing}, 3, nil, 0},
		{"stops on a fatal error", 0, []error{errPassing, errFatal, errPassing}, 2, errFatal, 2},
		{"stops when the attempts are spent", 3, []error{errPassing, errPassing, errPassing, errPassing}, 3, errPassing, 3},
		{"succeeds on the last attempt", 3, []error{errPassing, errPassing}, 3, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, last, recovered := 0, 0, 0
			p := Policy{
				Backoff:   Backoff{Min: time.Microsecond, Max: time.Microsecond},
				Attempts:  tt.attempts,
				Retryable: func(err error) bool { return !errors.Is(err, errFatal) },
				OnFail: func(f Failure) {
					if f.Last {
						last = f.Attempt
					}
				},
				OnRecover: func(attempt int) { recovered = attempt },
			}
			err := p.Do(context.Background(), func(context.Context) error {
				calls++
				if calls <= len(tt.results) {
					return tt.results[calls-1]
				}
				return nil
			})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Do() = %v, want %v", err, tt.wantErr)
			}
			if calls != tt.wantCalls || last != tt.wantLast {
				t.Errorf("calls = %d, last reported = %d; want %d, %d", calls, last, tt.wantCalls, tt.wantLast)
			}
			if tt.wantErr == nil && calls > 1 && recovered != calls {
				t.Errorf("OnRecover got attempt %d, want %d", recovered, calls)
			}
		})
	}
}

func TestPolicyDoStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	p := Policy{Backoff: Backoff{Min: time.Hour, Max: time.Hour}}
	start := time.Now()
	err := p.Do(ctx, func(context.Context) error { return errPassing })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Do() = %v, want the context's error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Do() returned %s after the context ended, want at once", d)
	}
}
