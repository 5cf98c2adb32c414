package stacktest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/segmentio/kafka-go"

	"tagpulse/internal/kafkaclient"
)

// TestClusterKafkaReplicatedTopic proves that a topic kafkaclient creates
// on the cluster profile is on all three brokers, refuses acks=all writes
// with fewer than two in sync, keeps unclean leader election off, and takes
// every message produced with acks=all.
func TestClusterKafkaReplicatedTopic(t *testing.T) {
	t.Parallel()
	cfg := ClusterKafka(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client, err := cfg.Client()
	if err != nil {
		t.Fatal(err)
	}

	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{cfg.Topic}})
	if err != nil {
		t.Fatalf("reading metadata of %s: %v", cfg.Topic, err)
	}
	if len(meta.Brokers) != 3 {
		t.Errorf("metadata lists %d brokers, want 3", len(meta.Brokers))
	}
	if len(meta.Topics) != 1 || len(meta.Topics[0].Partitions) != 3 {
		t.Fatalf("metadata of %s: %+v, want one topic of 3 partitions", cfg.Topic, meta.Topics)
	}
	leaders := map[int]bool{}
	for _, p := range meta.Topics[0].Partitions {
		if len(p.Replicas) != 3 {
			t.Errorf("partition %d has %d replicas, want 3 (the brokers' default.replication.factor)", p.ID, len(p.Replicas))
		}
		leaders[p.Leader.ID] = true
	}
	t.Logf("partition leaders on brokers %v", leaders)

	want := map[string]string{"min.insync.replicas": "2", "unclean.leader.election.enable": "false"}
	resp, err := client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: cfg.Topic, ConfigNames: []string{"min.insync.replicas", "unclean.leader.election.enable"},
	}}})
	if err != nil {
		t.Fatalf("describing the configuration of %s: %v", cfg.Topic, err)
	}
	got := map[string]string{}
	for _, r := range resp.Resources {
		if r.Error != nil {
			t.Fatalf("describing the configuration of %s: %v", cfg.Topic, r.Error)
		}
		for _, e := range r.ConfigEntries {
			got[e.ConfigName] = e.ConfigValue
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("topic %s: %s = %q, want %q", cfg.Topic, k, got[k], v)
		}
	}

	const n = 300
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: fmt.Appendf(nil, "key-%d", i), Value: fmt.Appendf(nil, "value-%d", i)}
	}
	Produce(t, cfg, cfg.Topic, msgs...) // acks=all
	parts, err := kafkaclient.Partitions(ctx, client, cfg.Topic)
	if err != nil {
		t.Fatal(err)
	}
	offs, err := kafkaclient.LogOffsets(ctx, client, cfg.Topic, parts)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, o := range offs {
		total += o.End - o.First
	}
	if total != n {
		t.Errorf("the partitions of %s hold %d messages, want %d", cfg.Topic, total, n)
	}
}

// TestClusterClickHouseLayouts proves the ClickHouse servers of the cluster
// profile work as clusters: a ReplicatedMergeTree table created ON CLUSTER
// rep (1 shard x 2 replicas) takes inserts on either replica and both
// replicas converge; a Distributed table over ON CLUSTER shard (2 shards x
// 1 replica) sharded by tag puts each tag on one shard, and its count adds
// up from either server.
func TestClusterClickHouseLayouts(t *testing.T) {
	t.Parallel()
	c := ClusterClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	exec := func(node int, query string) {
		t.Helper()
		if err := c.Nodes[node].Exec(ctx, query); err != nil {
			t.Fatalf("on cch%d: %s: %v", node+1, query, err)
		}
	}
	insert := func(node int, table string, from, to int) {
		t.Helper()
		batch, err := c.Nodes[node].PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.%s (id, tag)", c.DB, table))
		if err != nil {
			t.Fatalf("preparing an insert into %s on cch%d: %v", table, node+1, err)
		}
		for i := from; i < to; i++ {
			if err := batch.Append(uint64(i), fmt.Sprintf("tag%d", i%17)); err != nil {
				t.Fatal(err)
			}
		}
		if err := batch.Send(); err != nil {
			t.Fatalf("inserting into %s on cch%d: %v", table, node+1, err)
		}
	}

	t.Run("replicated", func(t *testing.T) {
		exec(0, fmt.Sprintf(`CREATE TABLE %[1]s.events ON CLUSTER %[2]s (id UInt64, tag String)
			ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/%[1]s/events', '{replica}') ORDER BY id`, c.DB, ClusterReplicated))
		insert(0, "events", 0, 600)    // on cch1
		insert(1, "events", 600, 1000) // on cch2
		deadline := time.Now().Add(30 * time.Second)
		for {
			a, b := c.Count(t, 0, "events"), c.Count(t, 1, "events")
			if a == 1000 && b == 1000 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replicas did not converge in 30 s: cch1 holds %d rows, cch2 %d, want 1000 each", a, b)
			}
			time.Sleep(100 * time.Millisecond)
		}
		for node := range 2 {
			var readonly, total, active uint8
			q := "SELECT is_readonly, total_replicas, active_replicas FROM system.replicas WHERE database = ? AND table = 'events'"
			if err := c.Nodes[node].QueryRow(ctx, q, c.DB).Scan(&readonly, &total, &active); err != nil {
				t.Fatalf("reading system.replicas on cch%d: %v", node+1, err)
			}
			if readonly != 0 || total != 2 || active != 2 {
				t.Errorf("cch%d: is_readonly %d, total_replicas %d, active_replicas %d; want 0, 2, 2", node+1, readonly, total, active)
			}
		}
	})

	t.Run("distributed", func(t *testing.T) {
		exec(0, fmt.Sprintf(`CREATE TABLE %[1]s.posts_local ON CLUSTER %[2]s (id UInt64, tag String)
			ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/%[1]s/posts_local', '{replica}') ORDER BY id`, c.DB, ClusterSharded))
		exec(0, fmt.Sprintf(`CREATE TABLE %[1]s.posts ON CLUSTER %[2]s AS %[1]s.posts_local
			ENGINE = Distributed(%[2]s, %[1]s, posts_local, cityHash64(tag))`, c.DB, ClusterSharded))
		// Synchronous: the insert returns once both shards hold their rows.
		syncCtx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_distributed_sync": 1}))
		batch, err := c.Nodes[0].PrepareBatch(syncCtx, fmt.Sprintf("INSERT INTO %s.posts (id, tag)", c.DB))
		if err != nil {
			t.Fatal(err)
		}
		const n = 1000
		for i := range n {
			if err := batch.Append(uint64(i), fmt.Sprintf("tag%d", i%17)); err != nil {
				t.Fatal(err)
			}
		}
		if err := batch.Send(); err != nil {
			t.Fatalf("inserting through the Distributed table: %v", err)
		}
		shard1, shard2 := c.Count(t, 0, "posts_local"), c.Count(t, 2, "posts_local")
		if shard1 == 0 || shard2 == 0 || shard1+shard2 != n {
			t.Errorf("shards hold %d (cch1) + %d (cch3) rows, want %d in all, some on each", shard1, shard2, n)
		}
		for _, node := range []int{0, 2} {
			if got := c.Count(t, node, "posts"); got != n {
				t.Errorf("the Distributed table counts %d rows on cch%d, want %d", got, node+1, n)
			}
		}
		// Sharded by tag: no tag on both shards.
		tags := func(node int) map[string]bool {
			rows, err := c.Nodes[node].Query(ctx, fmt.Sprintf("SELECT DISTINCT tag FROM %s.posts_local", c.DB))
			if err != nil {
				t.Fatalf("reading tags on cch%d: %v", node+1, err)
			}
			defer rows.Close()
			out := map[string]bool{}
			for rows.Next() {
				var tag string
				if err := rows.Scan(&tag); err != nil {
					t.Fatal(err)
				}
				out[tag] = true
			}
			return out
		}
		on1, on3 := tags(0), tags(2)
		for tag := range on1 {
			if on3[tag] {
				t.Errorf("tag %s is on both shards", tag)
			}
		}
		if len(on1)+len(on3) != 17 {
			t.Errorf("the shards hold %d + %d distinct tags, want 17 in all", len(on1), len(on3))
		}
	})
}
