package aggregator

import (
	"context"
	"testing"
	"time"

	"tagpulse/internal/testkit/stacktest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Stopping while a batch is being written in the background and the next
// one is being filled loses nothing and commits nothing out of order: a
// second run of the same group finishes the topic with exact counts.
func TestStopWhileBatchesInFlight(t *testing.T) {
	s := newStack(t, 6)
	group := s.kafka.Topic + "-group"
	posts := stacktest.GenPosts("p", 6000, time.Now(), 0, 11)
	publish(t, s.kafka, posts)

	cfg := testConfig(group)
	cfg.BatchRows = 150
	m := NewMetrics(prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	c := New(Options{Config: cfg, Kafka: s.kafka, Store: s.conn, Metrics: m, Log: testLogger(t)})
	go func() { done <- c.Run(ctx, RunOptions{}) }()
	stacktest.WaitFor(t, 60*time.Second, "the consumer to write a few batches", func() bool {
		return testutil.ToFloat64(m.RowsInserted.WithLabelValues("mentions")) >= 1000
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("stopping mid-stream: %v", err)
	}
	if lag := groupLag(t, s, group); lag == 0 {
		t.Log("the first run finished the topic before it was stopped; the restart has nothing left to do")
	}

	rctx, rcancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer rcancel()
	again := New(Options{Config: cfg, Kafka: s.kafka, Store: s.conn, Metrics: NewMetrics(prometheus.NewRegistry()), Log: testLogger(t)})
	if err := again.Run(rctx, RunOptions{UntilCaughtUp: true}); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if lag := groupLag(t, s, group); lag != 0 {
		t.Fatalf("group lag %d after the second run, want 0", lag)
	}
	assertCounts(t, s.conn, posts)
}
