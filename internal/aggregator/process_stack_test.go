package aggregator

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"tagpulse/internal/testkit/stacktest"

	"github.com/prometheus/client_golang/prometheus"
)

// aggregateArgs runs `aggregate run` on the test's topic, group and
// database, flushing quickly.
func aggregateArgs(s stack, group string, args ...string) []string {
	return append([]string{"run",
		"--http-addr", "127.0.0.1:0",
		"--kafka-brokers", s.kafka.Brokers[0],
		"--kafka-topic", s.kafka.Topic,
		"--kafka-group", group,
		"--clickhouse-dsn", s.store.DSN,
		"--batch-rows", "300",
		"--flush-interval", "300ms",
	}, args...)
}

func mentionRows(t *testing.T, s stack) uint64 {
	t.Helper()
	var n uint64
	if err := s.conn.QueryRow(context.Background(), "SELECT count() FROM mentions").Scan(&n); err != nil {
		t.Fatalf("counting mentions: %v", err)
	}
	return n
}

func TestKill9MidBatchThenRestart(t *testing.T) {
	s := newStack(t, 6)
	bin := filepath.Join(stacktest.Binaries(t), "aggregate")
	group := s.kafka.Topic + "-group"
	posts := stacktest.GenPosts("k", 10000, time.Now(), 0, 9)
	publish(t, s.kafka, posts)
	var wantRows uint64
	for _, p := range posts {
		wantRows += uint64(len(p.Hashtags))
	}

	agg := stacktest.Start(t, "aggregate run", bin, nil, aggregateArgs(s, group)...)
	// Kill it as soon as the first rows are in: it is then in the middle of
	// its work, with batches inserted and not yet committed.
	stacktest.WaitFor(t, 60*time.Second, "the first rows", func() bool { return mentionRows(t, s) > 0 })
	agg.Signal(t, syscall.SIGKILL)
	_ = agg.Wait(t, time.Minute)
	if n := mentionRows(t, s); n >= wantRows {
		t.Fatalf("the process wrote all %d rows before it was killed; the test proves nothing", n)
	}

	stacktest.Run(t, "aggregate run --until-caught-up after the kill", bin, nil, aggregateArgs(s, group, "--until-caught-up")...)
	assertCounts(t, s.conn, posts)
}

// TestFaultClickHouseStoppedAndRestarted stops the ClickHouse under test
// (stacktest.ClickHouseService) of the local stack for about fifteen
// seconds, so it runs only when TAGPULSE_FAULT_TESTS=1, alone.
func TestFaultClickHouseStoppedAndRestarted(t *testing.T) {
	script := stacktest.FaultStack(t)
	s := newStack(t, 6)
	group := s.kafka.Topic + "-group"
	before := stacktest.GenPosts("before", 3000, time.Now(), 0, 10)
	during := stacktest.GenPosts("during", 3000, time.Now(), 0, 11)
	publish(t, s.kafka, before)

	m := NewMetrics(prometheus.NewRegistry())
	cfg := testConfig(group)
	cfg.InsertTimeout = 3 * time.Second
	c := New(Options{Config: cfg, Kafka: s.kafka, Store: s.conn, Metrics: m, Log: testLogger(t)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, RunOptions{}) }()
	stacktest.WaitFor(t, 60*time.Second, "the first pass", func() bool { return groupLag(t, s, group) == 0 })

	script.Run(t, "stop", stacktest.ClickHouseService)
	restarted := false
	defer func() {
		if !restarted {
			script.Run(t, "start", stacktest.ClickHouseService)
		}
	}()
	publish(t, s.kafka, during)
	stacktest.WaitFor(t, 30*time.Second, "/readyz to turn false", func() bool { return !c.Ready() })
	time.Sleep(5 * time.Second)
	if lag := groupLag(t, s, group); lag != int64(len(during)) {
		t.Errorf("with ClickHouse down the group committed some of the new messages: lag %d, want %d", lag, len(during))
	}
	script.Run(t, "start", stacktest.ClickHouseService)
	restarted = true

	stacktest.WaitFor(t, 90*time.Second, "the consumer to catch up after the restart", func() bool { return groupLag(t, s, group) == 0 })
	stacktest.WaitFor(t, 30*time.Second, "/readyz to turn true", c.Ready)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("consumer: %v", err)
	}
	assertCounts(t, s.conn, before, during)
}
