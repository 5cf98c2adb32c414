package pipelinetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

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
	now := time.Now().UTC()
	first, expFirst := writeDemo(t, now, 51)
	second, expSecond := writeDemo(t, now, 52)
	cluster, _ := freshClusterPipeline(t, "zookeeper")
	cluster = cluster.with("AGGREGATE_RETRY_MAX=1s")
	cluster.run("ingest", "file", first)
	addr := stacktest.FreeAddr(t)
	stacktest.Start(t, "aggregate run", filepath.Join(cluster.dir, "aggregate"), cluster.env, "run", "--http-addr", addr)
	waitFor(ctx, t, "the first set to count", func() bool {
		got, err := topCounts(cluster)
		return err == nil && got["aurora"] == expFirst.Tags["aurora"] && got["climate"] == expFirst.Tags["climate"]
	})
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
