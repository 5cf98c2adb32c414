package aggregator

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"tagpulse/internal/testkit/stacktest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A run of poison long enough to trip the guard (a producer writing
// another format) must not wedge the consumer: under the default policy
// it consumes on and raises the alarm; under halt it stops once, having
// stored the valid posts and dead-lettered the poison it read, and the
// restart goes on from there instead of tripping on the same messages.
func TestPoisonRunDoesNotWedge(t *testing.T) {
	for _, policy := range []string{PoisonDeadLetter, PoisonHalt} {
		t.Run(policy, func(t *testing.T) {
			s := newStack(t, 1) // one partition: the order below is the order read
			before := stacktest.GenPosts("before", 200, time.Now(), 0, 21)
			after := stacktest.GenPosts("after", 100, time.Now(), 0, 22)
			poison := make([][]byte, 250) // trips the guard at the 201st
			for i := range poison {
				poison[i] = fmt.Appendf(nil, "wrong format %d", i)
			}
			publish(t, s.kafka, before, poison...)
			publish(t, s.kafka, after)

			cfg := testConfig(s.kafka.Topic + "-group")
			cfg.PoisonPolicy = policy
			m := NewMetrics(prometheus.NewRegistry())
			c := New(Options{Config: cfg, Kafka: s.kafka, Store: s.conn, Metrics: m, Log: testLogger(t)})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			err := c.Run(ctx, RunOptions{UntilCaughtUp: true})
			if got := testutil.ToFloat64(m.Errors.WithLabelValues(kindPoisonRate)); got != 1 {
				t.Errorf("errors_total{kind=poison_rate} = %v, want 1 (the guard tripped once)", got)
			}
			switch policy {
			case PoisonDeadLetter:
				if err != nil {
					t.Fatalf("run: %v; want the consumer to consume on", err)
				}
				if got := testutil.ToFloat64(m.PoisonGuardTripped); got != 0 {
					t.Errorf("poison_guard_tripped = %v after the valid posts that followed, want 0", got)
				}
			case PoisonHalt:
				if !errors.Is(err, ErrPoisonRate) {
					t.Fatalf("run: %v; want it to halt with ErrPoisonRate", err)
				}
				assertCounts(t, s.conn, before)
				if got := testutil.ToFloat64(m.PoisonGuardTripped); got != 1 {
					t.Errorf("poison_guard_tripped = %v when halted, want 1", got)
				}
				// The restart does not trip on the same messages again.
				runCaughtUp(t, s, cfg)
			}
			assertCounts(t, s.conn, before, after)
			if dlq := readAll(t, s.kafka, s.kafka.DLQTopic()); len(dlq) != len(poison) {
				t.Errorf("dead-letter topic holds %d messages, want the %d poison", len(dlq), len(poison))
			}
		})
	}
}
