package pipelinetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chstore"
	"tagpulse/internal/corpus"
	"tagpulse/internal/rollup"
	"tagpulse/internal/testkit/stacktest"
)

// TestClusterCountsMatchOneServer runs the same seeded demo set, with
// tombstones for some of its bursting posts (some before their posts),
// through ingest and aggregate twice: on the default stack (one broker,
// one ClickHouse server) and on the cluster profile (three brokers with
// replication factor 3, ClickHouse as 2 shards × 2 replicas through
// `aggregate migrate --cluster`). Every read answers the same, byte for
// byte, for tags and for topics defined after the posts were stored; the
// deleted posts count nowhere; each shard's rollup worker rolled up its
// own rows.
func TestClusterCountsMatchOneServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	now := time.Now().UTC()
	demo := filepath.Join(t.TempDir(), "demo.jsonl")
	f, err := os.Create(demo)
	if err != nil {
		t.Fatal(err)
	}
	var set bytes.Buffer
	exp, err := corpus.GenerateDemo(&set, corpus.DemoOptions{Now: now, Days: 2, Seed: 19})
	if err != nil {
		t.Fatal(err)
	}
	// Tombstones for the first seven Aurora posts: two written before the
	// set (deletes that arrive before their posts), five after it.
	var deleted []string
	var before, after bytes.Buffer
	for _, line := range bytes.Split(set.Bytes(), []byte("\n")) {
		var p struct {
			ID        string `json:"id"`
			Text      string `json:"text"`
			CreatedAt string `json:"created_at"`
		}
		if len(line) == 0 || json.Unmarshal(line, &p) != nil || !strings.Contains(p.Text, "#Aurora") || len(deleted) == 7 {
			continue
		}
		deleted = append(deleted, p.ID)
		to := &after
		if len(deleted) <= 2 {
			to = &before
		}
		fmt.Fprintf(to, `{"id":%q,"deleted":true,"created_at":%q}`+"\n", p.ID, p.CreatedAt)
	}
	if len(deleted) != 7 {
		t.Fatalf("the demo set has %d Aurora posts, want at least 7", len(deleted))
	}
	if _, err := f.Write(slices.Concat(before.Bytes(), set.Bytes(), after.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	single := freshPipeline(t, "one")
	cluster, servers := freshClusterPipeline(t, "cluster")
	for _, p := range []binaries{single, cluster} {
		p.run("ingest", "file", demo)
		// A topic defined after the posts are stored counts them all.
		p.run("aggregate", "run", "--until-caught-up", "--http-addr", "")
		p.run("aggregate", "topics", "add", "sky", "aurora", "solarstorm")
		p.run("aggregate", "topics", "add", "football", "football", "laliga")
		p.run("aggregate", "run", "--until-caught-up", "--http-addr", "")
	}

	// The rollups are done on every replica of both shards, so reads on
	// the cluster use them (and must then answer as one server does).
	cfg := chstore.Config{DSN: "clickhouse://default:@" + strings.Split(stacktest.ClusterClickHouseAddrs, ",")[0] + "/" + servers.DB, Cluster: stacktest.ClusterReplicatedSharded}
	replicas, err := chstore.OpenReplicas(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var conns []driver.Conn
	for _, r := range replicas {
		defer r.Conn.Close()
		conns = append(conns, r.Conn)
	}
	if len(conns) != 4 {
		t.Fatalf("opened %d replicas, want 4", len(conns))
	}
	yesterday := rollup.Day(now).Add(-24 * time.Hour)
	for deadline := time.Now().Add(30 * time.Second); ; {
		st, err := rollup.LoadReplicas(ctx, conns, yesterday, yesterday.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if st.DayDone(rollup.TagTiers.Day, yesterday) && st.HourDone(rollup.TagTiers.Hour, yesterday.Add(5*time.Hour)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rollup of %s is not done on every replica 30 s after the run", yesterday.Format(time.DateOnly))
		}
		time.Sleep(200 * time.Millisecond)
	}

	at := now.Truncate(time.Minute).Add(time.Minute).Format(time.RFC3339)
	reads := [][]string{
		{"top", "--window", "24h", "--limit", "100", "--json", "--at", at},
		{"top", "--window", "7d", "--limit", "100", "--json", "--at", at},
		{"top", "--window", "90m", "--lang", "fr", "--json", "--at", at},
		{"trending", "--window", "1h", "--json", "--at", at},
		{"trending", "--window", "1h", "--by", "posts", "--json", "--at", at},
		{"series", "--tag", "aurora", "--tag", "climate", "--window", "48h", "--step", "1h", "--json", "--at", at},
		{"tag", "aurora", "--window", "24h", "--json", "--at", at},
		{"top", "--topics", "--window", "48h", "--json", "--at", at},
		{"trending", "--topics", "--window", "1h", "--json", "--at", at},
		{"series", "--topic", "sky", "--window", "24h", "--step", "1h", "--json", "--at", at},
	}
	for _, r := range reads {
		one, _ := single.run("aggregate", r...)
		many, _ := cluster.run("aggregate", r...)
		if len(one) < 10 {
			t.Fatalf("aggregate %v on one server answered %q: nothing to compare", r, one)
		}
		if !bytes.Equal(one, many) {
			t.Errorf("aggregate %v:\none server: %s\ncluster:    %s", r, one, many)
		}
	}

	// The deleted posts count nowhere: Aurora's posts over the whole set
	// are the demo's less the seven.
	var top []struct {
		Tag   string `json:"tag"`
		Count int    `json:"count"`
	}
	out, _ := cluster.run("aggregate", "top", "--window", "7d", "--limit", "100", "--json", "--at", at)
	if err := json.Unmarshal(out, &top); err != nil {
		t.Fatal(err)
	}
	want := exp.Tags["aurora"] - len(deleted)
	if i := slices.IndexFunc(top, func(r struct {
		Tag   string `json:"tag"`
		Count int    `json:"count"`
	}) bool {
		return r.Tag == "aurora"
	}); i < 0 || top[i].Count != want {
		t.Errorf("top 7d on the cluster: aurora %+v, want %d posts (the demo's %d less %d deleted)", top, want, exp.Tags["aurora"], len(deleted))
	}

	// Each shard's worker rolled up the shard's own rows, and each shard's
	// tombstones met their posts there.
	local := chstore.LocalDatabase(servers.DB)
	var tombstones uint64
	for _, i := range []int{0, 2} { // a replica of each shard
		if n := servers.Count(t, i, local+".tag_hour"); n == 0 {
			t.Errorf("shard of cch%d: tag_hour is empty; its rollup worker did not run", i+1)
		}
		if n := servers.Count(t, i, local+".deletions_pending"); n != 0 {
			t.Errorf("shard of cch%d: %d tombstones still pending; their posts are on the same shard", i+1, n)
		}
		tombstones += servers.Count(t, i, local+".deletions")
	}
	if tombstones != uint64(len(deleted)) {
		t.Errorf("the shards hold %d tombstones, want %d", tombstones, len(deleted))
	}
}

// writeDemo writes the demo set of seed (the day before now) to a new
// file and returns it with what it holds.
func writeDemo(t *testing.T, now time.Time, seed uint64) (string, corpus.Expected) {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("demo-%d.jsonl", seed))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := corpus.GenerateDemo(f, corpus.DemoOptions{Now: now, Days: 1, Seed: seed})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return path, exp
}

// TestClusterShardDown stops both servers of shard 2 (cch3, cch4): a read
// fails and names the shard; an aggregator started meanwhile waits for it,
// commits nothing it did not store, and once the shard is back every post
// counts once.
func TestClusterShardDown(t *testing.T) {
	now := time.Now().UTC()
	first, expFirst := writeDemo(t, now, 31)
	second, expSecond := writeDemo(t, now, 32)
	cluster, _ := freshClusterPipeline(t, "shard-down")
	cluster = cluster.with("AGGREGATE_RETRY_MAX=1s")
	cluster.run("ingest", "file", first)
	cluster.run("aggregate", "run", "--until-caught-up", "--http-addr", "")

	stack := stacktest.StackScript(filepath.Join(stacktest.RepoRoot(t), "scripts", "stack"))
	stack.Stop(t, "cch3")
	stack.Stop(t, "cch4")
	addrs := strings.Split(stacktest.ClusterClickHouseAddrs, ",")
	stderr := cluster.fail("aggregate", "top", "--window", "48h")
	want := "shard 2 of cluster " + stacktest.ClusterReplicatedSharded + " is down: no replica answers (" + addrs[2] + ", " + addrs[3] + ")"
	if !strings.Contains(stderr, want) {
		t.Errorf("top with shard 2 down: stderr does not say %q:\n%s", want, stderr)
	}

	cluster.run("ingest", "file", second)
	run := stacktest.Start(t, "aggregate run", filepath.Join(cluster.dir, "aggregate"), cluster.env, "run", "--until-caught-up", "--http-addr", "")
	time.Sleep(8 * time.Second)
	if run.Exited() {
		t.Fatalf("aggregate run ended while shard 2 was down: %v\n%s", run.Err(), run.Stderr())
	}
	stack.Run(t, "start", "cch3")
	stack.Run(t, "start", "cch4")
	if err := run.Wait(t, 3*time.Minute); err != nil {
		t.Fatalf("aggregate run after shard 2 came back: %v\n%s", err, run.Stderr())
	}

	expectCounts(t, cluster, expFirst, expSecond)
}
