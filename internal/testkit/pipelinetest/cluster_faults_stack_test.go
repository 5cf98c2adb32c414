package pipelinetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/chstore"
	"tagpulse/internal/corpus"
	"tagpulse/internal/testkit/stacktest"
)

// expectCounts checks that top over the last three days gives every tag
// of the demo sets exp the sum of its posts in them.
func expectCounts(t *testing.T, b binaries, exp ...corpus.Expected) {
	t.Helper()
	got, err := topCounts(b)
	if err != nil {
		t.Fatal(err)
	}
	want := sumTags(exp...)
	for tag, n := range want {
		if got[tag] != n {
			t.Errorf("%s: %d posts, want %d", tag, got[tag], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("top lists %d tags, want %d: %v", len(got), len(want), got)
	}
}

// topCounts is top's posts per tag over the last three days.
func topCounts(b binaries) (map[string]int, error) {
	out, errOut, err := b.exec("aggregate", "top", "--window", "72h", "--limit", "100", "--json")
	if err != nil {
		return nil, fmt.Errorf("aggregate top: %w\n%s", err, errOut)
	}
	var top []struct {
		Tag   string `json:"tag"`
		Count int    `json:"count"`
	}
	if err := json.Unmarshal(out, &top); err != nil {
		return nil, err
	}
	got := map[string]int{}
	for _, r := range top {
		got[r.Tag] = r.Count
	}
	return got, nil
}

// sumTags adds up the posts per tag of demo sets.
func sumTags(exp ...corpus.Expected) map[string]int {
	out := map[string]int{}
	for _, e := range exp {
		for tag, n := range e.Tags {
			out[tag] += n
		}
	}
	return out
}

// TestClusterReplicaKilled kills cch2, the second replica of shard 1,
// with SIGKILL while an aggregator stores a demo set in small batches; its
// supervisor starts it again. The aggregator goes on through cch1, the
// two replicas converge (system.replicas, and the same rows on both), and
// every post counts once.
func TestClusterReplicaKilled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	set, exp := writeDemo(t, time.Now().UTC(), 41)
	cluster, servers := freshClusterPipeline(t, "replica-killed")
	cluster = cluster.with("AGGREGATE_RETRY_MAX=1s", "AGGREGATE_BATCH_ROWS=200")
	cluster.run("ingest", "file", set)
	run := stacktest.Start(t, "aggregate run", filepath.Join(cluster.dir, "aggregate"), cluster.env, "run", "--until-caught-up", "--http-addr", "")
	time.Sleep(1500 * time.Millisecond)
	if run.Exited() {
		t.Fatalf("the run ended before the kill; make the set larger\n%s", run.Stderr())
	}
	stacktest.KillCluster(t, "cch2")
	if err := run.Wait(t, 3*time.Minute); err != nil {
		t.Fatalf("aggregate run with cch2 killed: %v\n%s", err, run.Stderr())
	}
	expectCounts(t, cluster, exp)

	local := chstore.LocalDatabase(servers.DB)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		var (
			readonly      uint8
			active, total uint8
			queue         uint32
		)
		err := servers.Nodes[1].QueryRow(ctx, "SELECT is_readonly, active_replicas, total_replicas, queue_size FROM system.replicas WHERE database = ? AND table = 'mentions'", local).
			Scan(&readonly, &active, &total, &queue)
		if err == nil && readonly == 0 && active == 2 && total == 2 && queue == 0 {
			if a, b := servers.Count(t, 0, local+".mentions"), servers.Count(t, 1, local+".mentions"); a == b {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("after the restart cch1 holds %d mentions of shard 1, cch2 %d", a, b)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("cch2 has not converged a minute after its restart: readonly %d, active %d of %d replicas, queue %d, err %v", readonly, active, total, queue, err)
		}
	}
}

// TestClusterZooKeeperStopped stops ZooKeeper under a running aggregator:
// the replicated tables turn read-only, inserts fail and are retried,
// /readyz turns false and no post counts before it is stored; once
// ZooKeeper is back the aggregator stores the waiting posts and every
// post counts once.
func TestClusterZooKeeperStopped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sc := startAggregating(ctx, t, "zookeeper", 51)
	cluster, addr, second, expFirst, expSecond := sc.cluster, sc.addr, sc.second, sc.expFirst, sc.expSecond
	waitFor(ctx, t, "/readyz to be true", func() bool { return readyz(addr) == http.StatusOK })

	stack := stacktest.StackScript(filepath.Join(stacktest.RepoRoot(t), "scripts", "stack"))
	stack.Stop(t, "zookeeper")
	cluster.run("ingest", "file", second)
	waitFor(ctx, t, "/readyz to turn false with ZooKeeper stopped", func() bool { return readyz(addr) == http.StatusServiceUnavailable })
	// Reads do not need ZooKeeper: they still show the first set alone.
	if got, err := topCounts(cluster); err != nil || got["aurora"] != expFirst.Tags["aurora"] {
		t.Errorf("with ZooKeeper stopped: aurora %d, %v; want the first set's %d", got["aurora"], err, expFirst.Tags["aurora"])
	}

	stack.Run(t, "start", "zookeeper")
	waitFor(ctx, t, "both sets to count after ZooKeeper came back", func() bool {
		got, err := topCounts(cluster)
		return err == nil && got["aurora"] == expFirst.Tags["aurora"]+expSecond.Tags["aurora"]
	})
	waitFor(ctx, t, "/readyz to be true again", func() bool { return readyz(addr) == http.StatusOK })
	expectCounts(t, cluster, expFirst, expSecond)
}

// aggregating is a cluster pipeline whose aggregator runs (serving on
// addr) and has counted a first demo set; second is a second set, for a
// test to ingest while a fault lasts.
type aggregating struct {
	cluster             binaries
	addr, second        string
	expFirst, expSecond corpus.Expected
}

// startAggregating starts an aggregating pipeline, its demo sets seeded
// with seed and seed+1.
func startAggregating(ctx context.Context, t *testing.T, group string, seed uint64) aggregating {
	t.Helper()
	now := time.Now().UTC()
	first, expFirst := writeDemo(t, now, seed)
	second, expSecond := writeDemo(t, now, seed+1)
	cluster, _ := freshClusterPipeline(t, group)
	cluster = cluster.with("AGGREGATE_RETRY_MAX=2s")
	cluster.run("ingest", "file", first)
	addr := stacktest.FreeAddr(t)
	stacktest.Start(t, "aggregate run", filepath.Join(cluster.dir, "aggregate"), cluster.env, "run", "--http-addr", addr)
	waitFor(ctx, t, "the first set to count", func() bool {
		got, err := topCounts(cluster)
		return err == nil && got["aurora"] == expFirst.Tags["aurora"] && got["climate"] == expFirst.Tags["climate"]
	})
	return aggregating{cluster: cluster, addr: addr, second: second, expFirst: expFirst, expSecond: expSecond}
}

// readyz is the status of the aggregator's /readyz at addr, 0 when it does
// not answer.
func readyz(addr string) int {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitFor polls cond every 500 ms until it holds, failing t when ctx ends
// first.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// writeCorpus writes a seeded corpus of posts over the six hours before
// now to a new file and returns it with what it holds.
func writeCorpus(t *testing.T, posts int, seed uint64) (string, corpus.Expected) {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("corpus-%d.jsonl", seed))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := corpus.Generate(f, corpus.Options{Posts: posts, Seed: seed, End: time.Now().UTC(), Span: 6 * time.Hour})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return path, exp
}

// partitionLeader is the node id of the broker that leads partition of
// topic, read from brokers.
func partitionLeader(ctx context.Context, t *testing.T, brokers []string, topic string, partition int) int {
	t.Helper()
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		if p.ID == partition {
			return p.Leader.ID
		}
	}
	t.Fatalf("topic %s has no partition %d", topic, partition)
	return 0
}

// TestClusterLeaderKilledDuringIngest kills with SIGKILL the broker that
// leads partition 0 while `ingest file` publishes 100,000 posts with
// acks=all: ingest finishes (its writer moves to the new leaders), and
// the aggregator then counts every post once.
func TestClusterLeaderKilledDuringIngest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	set, exp := writeCorpus(t, 100_000, 61)
	cluster, _ := freshClusterPipeline(t, "leader-killed")
	brokers := strings.Split(cluster.getenv("KAFKA_BROKERS"), ",")
	topic := cluster.getenv("KAFKA_TOPIC")
	leader := partitionLeader(ctx, t, brokers, topic, 0)

	ingest := stacktest.Start(t, "ingest file", filepath.Join(cluster.dir, "ingest"), cluster.env, "file", set)
	time.Sleep(time.Second)
	if ingest.Exited() {
		t.Fatalf("ingest ended before the kill; make the corpus larger\n%s", ingest.Stderr())
	}
	stacktest.KillCluster(t, fmt.Sprintf("ckafka%d", leader))
	if err := ingest.Wait(t, 3*time.Minute); err != nil {
		t.Fatalf("ingest file with broker %d killed: %v\n%s", leader, err, ingest.Stderr())
	}
	if now := partitionLeader(ctx, t, brokers, topic, 0); now == leader {
		t.Logf("broker %d was back as the leader of partition 0 already", leader)
	}
	cluster.run("aggregate", "run", "--until-caught-up", "--http-addr", "")
	expectCounts(t, cluster, exp)
}

// TestClusterTwoBrokersStopped stops two of the three brokers (and so two
// of the three controllers) under a running aggregator. An ingest that
// may not wait fails naming the topic it could not write; one that may
// wait backs off until the brokers are back, then publishes everything;
// the aggregator resumes, and every post of both sets counts once.
func TestClusterTwoBrokersStopped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	sc := startAggregating(ctx, t, "two-brokers", 71)
	cluster, second, expFirst, expSecond := sc.cluster, sc.second, sc.expFirst, sc.expSecond

	stack := stacktest.StackScript(filepath.Join(stacktest.RepoRoot(t), "scripts", "stack"))
	stack.Stop(t, "ckafka2")
	stack.Stop(t, "ckafka3")
	impatient := cluster.with("KAFKA_RETRY_FOR=0s", "KAFKA_MAX_ATTEMPTS=2", "KAFKA_WRITE_TIMEOUT=2s")
	// Without a controller quorum even the check that the topic exists
	// fails: either way the error names the topic.
	if stderr := impatient.fail("ingest", "file", second); !strings.Contains(stderr, cluster.getenv("KAFKA_TOPIC")) {
		t.Errorf("ingest with two brokers down does not say which topic it could not write:\n%s", stderr)
	}

	patient := stacktest.Start(t, "ingest file", filepath.Join(cluster.dir, "ingest"), cluster.with("KAFKA_RETRY_FOR=4m").env, "file", second)
	time.Sleep(5 * time.Second)
	if patient.Exited() {
		t.Fatalf("ingest ended with two brokers down instead of waiting: %v\n%s", patient.Err(), patient.Stderr())
	}
	stack.Run(t, "start", "ckafka2")
	stack.Run(t, "start", "ckafka3")
	if err := patient.Wait(t, 4*time.Minute); err != nil {
		t.Fatalf("ingest after the brokers came back: %v\n%s", err, patient.Stderr())
	}
	waitFor(ctx, t, "both sets to count", func() bool {
		got, err := topCounts(cluster)
		return err == nil && got["aurora"] == expFirst.Tags["aurora"]+expSecond.Tags["aurora"]
	})
	expectCounts(t, cluster, expFirst, expSecond)
}

// TestClusterThreeAggregators runs three aggregators in one consumer
// group over the cluster, stops one of them with SIGTERM (it must exit
// cleanly) while posts arrive, and checks that the two left take its
// partitions over and that every post counts once.
func TestClusterThreeAggregators(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sc := startAggregating(ctx, t, "three-aggregators", 81)
	cluster := sc.cluster
	var runs []*stacktest.Proc
	for range 2 {
		runs = append(runs, stacktest.Start(t, "aggregate run", filepath.Join(cluster.dir, "aggregate"), cluster.env, "run", "--http-addr", stacktest.FreeAddr(t)))
	}
	time.Sleep(3 * time.Second) // the group rebalances over three members
	ingest := stacktest.Start(t, "ingest file", filepath.Join(cluster.dir, "ingest"), cluster.env, "file", sc.second)
	runs[0].Stop(t)
	if err := ingest.Wait(t, 2*time.Minute); err != nil {
		t.Fatalf("ingest: %v\n%s", err, ingest.Stderr())
	}
	waitFor(ctx, t, "both sets to count", func() bool {
		got, err := topCounts(cluster)
		return err == nil && got["aurora"] == sc.expFirst.Tags["aurora"]+sc.expSecond.Tags["aurora"]
	})
	expectCounts(t, cluster, sc.expFirst, sc.expSecond)
}

// TestClusterRebuild rebuilds yesterday's counts on the cluster: the day's
// partitions go on each shard's own tables, the replay from Kafka stores
// them again, and every post of the day counts once, as before.
func TestClusterRebuild(t *testing.T) {
	now := time.Now().UTC()
	set, exp := writeDemo(t, now, 91)
	cluster, servers := freshClusterPipeline(t, "rebuild")
	cluster.run("ingest", "file", set)
	cluster.run("aggregate", "run", "--until-caught-up", "--http-addr", "")
	before, err := topCounts(cluster)
	if err != nil {
		t.Fatal(err)
	}
	today := now.Truncate(24 * time.Hour)
	yesterday := today.Add(-24 * time.Hour)
	// A row no post of Kafka stands for, on shard 2's own mentions: the
	// rebuild must drop it with the day.
	local := chstore.LocalDatabase(servers.DB)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// 18.16 takes no INSERT … VALUES through Exec: INSERT … SELECT.
	if err := servers.Nodes[2].Exec(ctx, fmt.Sprintf("INSERT INTO %s.mentions (post_id, account, tag, display, created_at) SELECT 'stray', 'nobody', 'stray', 'stray', toDateTime(%d)", local, yesterday.Add(time.Hour).Unix())); err != nil {
		t.Fatal(err)
	}
	if got, err := topCounts(cluster); err != nil || got["stray"] != 1 {
		t.Fatalf("the stray row does not count before the rebuild: %v, %v", got, err)
	}
	_, stderr := cluster.run("aggregate", "rebuild", "--created-since", yesterday.Format(time.DateOnly), "--created-until", today.Format(time.DateOnly))
	if !strings.Contains(stderr, yesterday.Format(time.DateOnly)) {
		t.Errorf("rebuild does not name the day it dropped:\n%s", stderr)
	}
	after, err := topCounts(cluster)
	if err != nil {
		t.Fatal(err)
	}
	if after["stray"] != 0 {
		t.Errorf("the stray row still counts after the rebuild: %d", after["stray"])
	}
	delete(before, "stray")
	for tag, n := range before {
		if after[tag] != n || n != exp.Tags[tag] {
			t.Errorf("%s: %d posts before the rebuild, %d after, want %d", tag, n, after[tag], exp.Tags[tag])
		}
	}
}
