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
// replication factor 3, and ClickHouse through `aggregate migrate
// --cluster` as 2 shards × 2 replicas of 18.16, then as 2 plain shards of
// 26.9). Every read answers the same, byte for byte, for tags and for
// topics defined after the posts were stored; the deleted posts count
// nowhere; each shard's rollup worker rolled up its own rows.
func TestClusterCountsMatchOneServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
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
	load := func(p binaries) {
		p.run("ingest", "file", demo)
		// A topic defined after the posts are stored counts them all.
		p.run("aggregate", "run", "--until-caught-up", "--http-addr", "")
		p.run("aggregate", "topics", "add", "sky", "aurora", "solarstorm")
		p.run("aggregate", "topics", "add", "football", "football", "laliga")
		p.run("aggregate", "run", "--until-caught-up", "--http-addr", "")
	}
	single := freshPipeline(t, "one")
	load(single)
	for _, layout := range []struct {
		name    string
		servers func(testing.TB) *stacktest.ClickHouseCluster
		shards  []int // a server of each shard, by its index in Addrs
	}{
		{"replicated 18.16", stacktest.ClusterClickHouse, []int{0, 2}},
		{"plain 26.9", stacktest.PlainClusterClickHouse, []int{0, 1}},
	} {
		t.Run(layout.name, func(t *testing.T) {
			servers := layout.servers(t)
			cluster := clusterPipelineOn(t, "cluster", servers)
			load(cluster)
			one := single
			one.t = t // its failures are this subtest's
			matchOneServer(ctx, t, one, cluster, servers, layout.shards, now, exp, deleted)
		})
	}
}

// matchOneServer is the check of TestClusterCountsMatchOneServer on one
// layout: the cluster's reads answer as the single server's, and its
// shards hold what they should.
func matchOneServer(ctx context.Context, t *testing.T, single, cluster binaries, servers *stacktest.ClickHouseCluster, shards []int, now time.Time, exp corpus.Expected, deleted []string) {
	// The rollups are done on every replica of every shard, so reads on
	// the cluster use them (and must then answer as one server does).
	cfg := chstore.Config{DSN: servers.DSN(), Cluster: servers.Cluster}
	replicas, err := chstore.OpenReplicas(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var conns []driver.Conn
	for _, r := range replicas {
		defer r.Conn.Close()
		conns = append(conns, r.Conn)
	}
	if len(conns) != len(servers.Addrs) {
		t.Fatalf("opened %d replicas, want %d", len(conns), len(servers.Addrs))
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
	for _, i := range shards {
		if n := servers.Count(t, i, local+".tag_hour"); n == 0 {
			t.Errorf("shard of %s: tag_hour is empty; its rollup worker did not run", servers.Addrs[i])
		}
		if n := servers.Count(t, i, local+".deletions_pending"); n != 0 {
			t.Errorf("shard of %s: %d tombstones still pending; their posts are on the same shard", servers.Addrs[i], n)
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

// TestClusterShardDown stops every server of shard 2 (cch3 and cch4 of the
// replicated 18.16 cluster, then cplain2 of the plain 26.9 one): a read
// fails and names the shard; an aggregator started meanwhile waits for it,
// commits nothing it did not store, and once the shard is back every post
// counts once.
func TestClusterShardDown(t *testing.T) {
	for _, layout := range []struct {
		name    string
		servers func(testing.TB) *stacktest.ClickHouseCluster
		down    []string // the services of shard 2
		addrs   []int    // their indices in Addrs
	}{
		{"replicated 18.16", stacktest.ClusterClickHouse, []string{"cch3", "cch4"}, []int{2, 3}},
		{"plain 26.9", stacktest.PlainClusterClickHouse, []string{"cplain2"}, []int{1}},
	} {
		t.Run(layout.name, func(t *testing.T) {
			now := time.Now().UTC()
			first, expFirst := writeDemo(t, now, 31)
			second, expSecond := writeDemo(t, now, 32)
			servers := layout.servers(t)
			cluster := clusterPipelineOn(t, "shard-down", servers).with("AGGREGATE_RETRY_MAX=1s")
			cluster.run("ingest", "file", first)
			cluster.run("aggregate", "run", "--until-caught-up", "--http-addr", "")

			stack := stacktest.StackScript(filepath.Join(stacktest.RepoRoot(t), "scripts", "stack"))
			var addrs []string
			for i, svc := range layout.down {
				stack.Stop(t, svc)
				addrs = append(addrs, servers.Addrs[layout.addrs[i]])
			}
			stderr := cluster.fail("aggregate", "top", "--window", "48h")
			want := "shard 2 of cluster " + servers.Cluster + " is down: no replica answers (" + strings.Join(addrs, ", ") + ")"
			if !strings.Contains(stderr, want) {
				t.Errorf("top with shard 2 down: stderr does not say %q:\n%s", want, stderr)
			}

			cluster.run("ingest", "file", second)
			run := stacktest.Start(t, "aggregate run", filepath.Join(cluster.dir, "aggregate"), cluster.env, "run", "--until-caught-up", "--http-addr", "")
			time.Sleep(8 * time.Second)
			if run.Exited() {
				t.Fatalf("aggregate run ended while shard 2 was down: %v\n%s", run.Err(), run.Stderr())
			}
			for _, svc := range layout.down {
				stack.Run(t, "start", svc)
			}
			if err := run.Wait(t, 3*time.Minute); err != nil {
				t.Fatalf("aggregate run after shard 2 came back: %v\n%s", err, run.Stderr())
			}

			expectCounts(t, cluster, expFirst, expSecond)
		})
	}
}
