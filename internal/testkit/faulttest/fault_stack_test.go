package faulttest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/testkit/stacktest"
)

// TestFaultClickHouseFrozen freezes ClickHouse (SIGSTOP) for fifteen seconds
// while aggregate runs and posts keep arriving: aggregate keeps running,
// /readyz turns 503 and back to 200, and the counts end exact.
func TestFaultClickHouseFrozen(t *testing.T) {
	stack := stacktest.FaultStack(t)
	e := newEnv(t, 6)
	before := stacktest.GenPosts("before", 5000, time.Now(), 60, 5)
	during := stacktest.GenPosts("during", 5000, time.Now(), 60, 6)
	agg := stacktest.Start(t, "aggregate run", aggregateBin(t), nil, e.aggregateArgs("--insert-timeout", "2s")...)
	addr := agg.HTTPAddr(t)
	stacktest.Run(t, "ingest file (before)", ingestBin(t), nil, append([]string{"file", stacktest.WriteJSONL(t, t.TempDir(), "before.jsonl", before)}, e.kafkaArgs()...)...)
	waitTotals(t, e.conn, 60*time.Second, before)
	stacktest.WaitFor(t, 30*time.Second, "/readyz 200 before the freeze", func() bool { return readyz(addr) == 200 })

	frozenAt := time.Now()
	resume := stack.Freeze(t)
	stacktest.Run(t, "ingest file (during)", ingestBin(t), nil, append([]string{"file", stacktest.WriteJSONL(t, t.TempDir(), "during.jsonl", during)}, e.kafkaArgs()...)...)
	stacktest.WaitFor(t, 15*time.Second, "/readyz 503 while ClickHouse is frozen", func() bool { return readyz(addr) == 503 })
	time.Sleep(time.Until(frozenAt.Add(15 * time.Second)))
	if agg.Exited() {
		t.Fatalf("aggregate exited while ClickHouse was frozen: %v", agg.Err())
	}
	if code := readyz(addr); code != 503 {
		t.Errorf("/readyz answered %d after 15 s of frozen ClickHouse, want 503", code)
	}
	resume()

	stacktest.WaitFor(t, 60*time.Second, "/readyz 200 after ClickHouse resumed", func() bool { return readyz(addr) == 200 })
	waitTotals(t, e.conn, 90*time.Second, before, during)
	if n := metricSum(t, addr, "tagpulse_aggregate_retries_total"); n == 0 {
		t.Errorf("tagpulse_aggregate_retries_total is 0; the inserts never waited for ClickHouse")
	}
	agg.Stop(t)
	assertTotals(t, e.conn, before, during)
}

// TestFaultClickHouseKilled kills the ClickHouse server (SIGKILL) while
// aggregate runs and posts keep arriving. A server scripts/stack
// supervises must come back by itself; one an older scripts/stack started
// without a supervisor is started again with scripts/stack start.
// aggregate keeps running and the counts end exact: what ClickHouse
// acknowledged survived the kill, and the rest was retried.
func TestFaultClickHouseKilled(t *testing.T) {
	stack := stacktest.FaultStack(t)
	svc := stacktest.ClickHouseService
	e := newEnv(t, 6)
	before := stacktest.GenPosts("before", 5000, time.Now(), 60, 10)
	during := stacktest.GenPosts("during", 5000, time.Now(), 60, 11)
	agg := stacktest.Start(t, "aggregate run", aggregateBin(t), nil, e.aggregateArgs("--insert-timeout", "2s")...)
	addr := agg.HTTPAddr(t)
	stacktest.Run(t, "ingest file (before)", ingestBin(t), nil, append([]string{"file", stacktest.WriteJSONL(t, t.TempDir(), "before.jsonl", before)}, e.kafkaArgs()...)...)
	waitTotals(t, e.conn, 60*time.Second, before)

	pid, err := stack.ServerPID(svc)
	if err != nil {
		t.Fatalf("reading the PID of %s: %v", svc, err)
	}
	supervised := stack.Supervised(svc)
	resumeSupervisor := func() {}
	if supervised {
		// The supervisor would start the server again within a second or
		// two, maybe before aggregate notices: it waits, frozen, until
		// aggregate has reported the outage.
		sup, err := stack.PID(svc)
		if err != nil {
			t.Fatalf("reading the PID of %s's supervisor: %v", svc, err)
		}
		if err := syscall.Kill(sup, syscall.SIGSTOP); err != nil {
			t.Fatalf("pausing %s's supervisor (pid %d): %v", svc, sup, err)
		}
		resumeSupervisor = func() { syscall.Kill(sup, syscall.SIGCONT) }
		t.Cleanup(resumeSupervisor)
	} else {
		t.Cleanup(func() { stack.Run(t, "start", svc) })
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing %s (pid %d): %v", svc, pid, err)
	}
	stacktest.Run(t, "ingest file (during)", ingestBin(t), nil, append([]string{"file", stacktest.WriteJSONL(t, t.TempDir(), "during.jsonl", during)}, e.kafkaArgs()...)...)
	stacktest.WaitFor(t, 30*time.Second, "/readyz 503 while ClickHouse is down", func() bool { return readyz(addr) == 503 })
	if supervised {
		resumeSupervisor()
		stacktest.WaitFor(t, 60*time.Second, svc+" started again by its supervisor", func() bool {
			p, err := stack.ServerPID(svc)
			return err == nil && p != pid
		})
	} else {
		stack.Run(t, "start", svc)
	}
	stacktest.WaitFor(t, 60*time.Second, svc+" answering again", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return e.conn.Ping(ctx) == nil
	})

	stacktest.WaitFor(t, 60*time.Second, "/readyz 200 after ClickHouse returned", func() bool { return readyz(addr) == 200 })
	waitTotals(t, e.conn, 90*time.Second, before, during)
	if agg.Exited() {
		t.Fatalf("aggregate exited while ClickHouse was down: %v", agg.Err())
	}
	agg.Stop(t)
	assertTotals(t, e.conn, before, during)
}

// TestFaultKafkaRestarted stops the Kafka broker while `ingest run` has a new
// file to publish and aggregate is consuming, then starts it again: both
// recover by themselves, without a restart, and the counts end exact.
func TestFaultKafkaRestarted(t *testing.T) {
	stack := stacktest.FaultStack(t)
	e := newEnv(t, 6)
	dir := t.TempDir()
	before := stacktest.GenPosts("before", 5000, time.Now(), 60, 7)
	during := stacktest.GenPosts("during", 5000, time.Now(), 60, 8)
	stacktest.WriteJSONL(t, dir, "before.jsonl", before)

	agg := stacktest.Start(t, "aggregate run", aggregateBin(t), nil, e.aggregateArgs()...)
	aggAddr := agg.HTTPAddr(t)
	ing := stacktest.Start(t, "ingest run", ingestBin(t), nil, append([]string{"run",
		"--source", "file@1s=" + dir, "--state-dir", t.TempDir(), "--metrics-addr", "127.0.0.1:0",
		"--kafka-max-attempts", "3", "--kafka-write-timeout", "2s"}, e.kafkaArgs()...)...)
	ingAddr := ing.HTTPAddr(t)
	waitTotals(t, e.conn, 90*time.Second, before)

	stack.Stop(t, "kafka")
	stacktest.WriteJSONL(t, dir, "during.jsonl", during)
	stacktest.WaitFor(t, 60*time.Second, "aggregate's /readyz 503 while Kafka is down", func() bool { return readyz(aggAddr) == 503 })
	stacktest.WaitFor(t, 60*time.Second, "ingest to report failed fetches of the new file", func() bool {
		return metricSum(t, ingAddr, "tagpulse_ingest_fetch_errors_total") > 0
	})
	stack.Run(t, "start", "kafka")

	waitTotals(t, e.conn, 4*time.Minute, before, during)
	stacktest.WaitFor(t, 60*time.Second, "aggregate's /readyz 200 after the restart", func() bool { return readyz(aggAddr) == 200 })
	for _, p := range []*stacktest.Proc{agg, ing} {
		if p.Exited() {
			t.Fatalf("%s exited during the outage: %v", p.Name, p.Err())
		}
	}
	ing.Stop(t)
	agg.Stop(t)
	assertTotals(t, e.conn, before, during)
}

// TestFaultSlowClickHouseBoundsMemory fills the topic with far more bytes than
// aggregate may hold while ClickHouse is frozen, then lets it catch up in
// large inserts: the process's peak resident memory (VmHWM) stays below
// the bound its queue, fetch and batch settings imply, well under the
// topic's size, and the counts end exact.
func TestFaultSlowClickHouseBoundsMemory(t *testing.T) {
	stack := stacktest.FaultStack(t)
	e := newEnv(t, 6)
	const (
		n         = 6000
		textBytes = 40 << 10
		limitMiB  = 100
	)
	posts := stacktest.GenPosts("big", n, time.Now(), textBytes, 9)
	// Small batches, and a memory limit to match: under a limit the
	// collector lets the heap grow to five times what is live, up to the
	// limit (command.ApplyMemoryLimit), so the limit, not the batches
	// alone, is the budget the bound checks.
	agg := stacktest.Start(t, "aggregate run", aggregateBin(t), nil, e.aggregateArgs(
		"--batch-rows", "20000", "--batch-bytes", "8388608", "--flush-interval", "2s",
		"--queue-capacity", "100", "--fetch-max-bytes", "1048576", "--insert-timeout", "2s",
		"--memory-limit", strconv.Itoa(64<<20))...)
	addr := agg.HTTPAddr(t)
	stacktest.WaitFor(t, 30*time.Second, "/readyz 200", func() bool { return readyz(addr) == 200 })

	resume := stack.Freeze(t)
	frozenAt := time.Now()
	var total int64
	msgs := make([]kafka.Message, 0, 500)
	flush := func() {
		stacktest.Produce(t, e.kafka, e.kafka.Topic, msgs...)
		msgs = msgs[:0]
	}
	for _, p := range posts {
		v, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		total += int64(len(v))
		msgs = append(msgs, kafka.Message{Key: []byte(p.ID), Value: v})
		if len(msgs) == cap(msgs) {
			flush()
		}
	}
	flush()
	// Give the reader every chance to pile up messages it cannot store.
	time.Sleep(time.Until(frozenAt.Add(20 * time.Second)))
	frozenHWM := vmHWM(t, agg)
	resume()

	waitTotals(t, e.conn, 3*time.Minute, posts)
	hwm := vmHWM(t, agg)
	agg.Stop(t)
	t.Logf("topic holds %d MiB; aggregate's peak RSS %d MiB while ClickHouse was frozen, %d MiB in all", total>>20, frozenHWM>>20, hwm>>20)
	if total < 2*limitMiB<<20 {
		t.Fatalf("the topic holds only %d MiB; the test needs far more than the %d MiB bound", total>>20, limitMiB)
	}
	if hwm > limitMiB<<20 {
		t.Errorf("aggregate's peak resident memory is %d MiB, over the %d MiB bound", hwm>>20, limitMiB)
	}
}

// vmHWM reads the peak resident set size of a running process.
func vmHWM(t *testing.T, p *stacktest.Proc) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID()))
	if err != nil {
		t.Fatalf("reading /proc status of %s: %v", p.Name, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("parsing %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc status of %s", p.Name)
	return 0
}
