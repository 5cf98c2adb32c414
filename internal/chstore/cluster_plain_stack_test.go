package chstore_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"tagpulse/internal/chstore"
	"tagpulse/internal/testkit/stacktest"
)

// TestClusterMigratePlainShards creates the schema on the cluster
// profile's two ClickHouse 26.9 servers, plain shards with no coordinator:
// server by server, plain engines, Distributed tables over them, and the
// tables every server shares on the first shard. Mentions written through
// the second server's Distributed table land whole on one shard; a hidden
// tag written there lands on the first shard and is seen from both, and
// in the shards' own databases; retention of the shared tables drops
// their old partitions on the first shard (chstore.SharedTables). Run
// again, the migration applies nothing; a shard of two replicas without
// the macros to replicate with is refused.
func TestClusterMigratePlainShards(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := stacktest.PlainClusterClickHouse(t)
	c.DropLocal(t)
	local, shared := chstore.LocalDatabase(c.DB), chstore.SharedDatabase(c.DB)
	cfg := chstore.Config{DSN: c.DSN(), Cluster: stacktest.ClusterPlain}
	var progress bytes.Buffer
	applied, err := chstore.MigrateCluster(ctx, cfg, stacktest.ClusterPlain, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	all, err := chstore.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(all) {
		t.Fatalf("applied %v, want all %d migrations", applied, len(all))
	}
	if !strings.Contains(progress.String(), "2 plain shards") {
		t.Errorf("progress does not say the shards are plain:\n%s", progress.String())
	}
	engines := []engine{
		{c.DB, "mentions", "Distributed"},
		{local, "mentions", "ReplacingMergeTree"},
		{local, "tag_hour", "MergeTree"},
		{local, "rollup_dirty_from_mentions", "MaterializedView"},
		{c.DB, "hidden_tags", "Distributed"},
		{shared, "hidden_tags", "ReplacingMergeTree"},
		{local, "hidden_tags", "View"},
		{shared, "alert_state", "ReplacingMergeTree"},
		{c.DB, "migrate_progress", ""},
	}
	count := func(i int, q string) uint64 {
		t.Helper()
		var n uint64
		if err := c.Nodes[i].QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %s: %v", c.Addrs[i], q, err)
		}
		return n
	}
	checkEngines(ctx, t, c, engines)

	// 200 posts of two tags each and a hidden tag, written through the
	// second server's Distributed tables.
	conn, at := writeTwoTagPosts(ctx, t, c.Addrs[1], c.DB)
	shard1, shard2 := count(0, "SELECT count() FROM "+local+".mentions"), count(1, "SELECT count() FROM "+local+".mentions")
	if shard1 == 0 || shard2 == 0 || shard1+shard2 != 400 {
		t.Fatalf("shards hold %d and %d mentions, want 400 in all and some on each", shard1, shard2)
	}
	if posts1 := count(0, "SELECT uniqExact(post_id) FROM "+local+".mentions"); posts1*2 != shard1 {
		t.Fatalf("shard 1 holds %d posts in %d mentions: a post is split across shards", posts1, shard1)
	}
	for i := range c.Nodes {
		if got := count(i, "SELECT uniqExact(post_id) FROM "+c.DB+".mentions WHERE tag = 'otan'"); got != 200 {
			t.Errorf("read through %s's Distributed mentions: %d posts of otan, want 200", c.Addrs[i], got)
		}
		if got := count(i, fmt.Sprintf("SELECT count() FROM %s.rollup_dirty WHERE hour = toDateTime(%d)", local, at.Truncate(time.Hour).Unix())); got == 0 {
			t.Errorf("%s: the shard's rollup_dirty has no mark of the hour it received rows for", c.Addrs[i])
		}
	}
	if err := conn.Exec(ctx, "INSERT INTO hidden_tags (tag, hidden, reason, set_by, set_at, version) SELECT 'spam', 1, 'test', 'ops', now(), 1"); err != nil {
		t.Fatal(err)
	}
	if n1, n2 := count(0, "SELECT count() FROM "+shared+".hidden_tags"), count(1, "SELECT count() FROM "+shared+".hidden_tags"); n1 != 1 || n2 != 0 {
		t.Errorf("the shared tables hold %d and %d hidden tags on the two shards, want 1 on the first", n1, n2)
	}
	for i := range c.Nodes {
		for _, db := range []string{c.DB, local} {
			if n := count(i, "SELECT count() FROM "+db+".hidden_tags"); n != 1 {
				t.Errorf("%s: %s.hidden_tags holds %d, want the 1 hidden tag", c.Addrs[i], db, n)
			}
		}
	}

	// Retention of the shared tables: old and new claims, through the
	// Distributed table; the old ones are dropped on the first shard.
	now := time.Now().UTC()
	for _, ts := range []time.Time{now.AddDate(0, -2, 0), now} {
		if err := conn.Exec(ctx, "INSERT INTO alert_state (rule, tag, claimed_at, claimant, sent) SELECT 'spike', 'otan', toDateTime(@at), 'a', 1", clickhouse.Named("at", ts.Unix())); err != nil {
			t.Fatal(err)
		}
	}
	sharedConn, closeShared, err := chstore.SharedTables(ctx, cfg, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer closeShared()
	dropped, err := chstore.DropPartitionsBefore(ctx, sharedConn, now.AddDate(0, 0, -7))
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 1 || dropped[0].Table != "alert_state" {
		t.Errorf("dropped %v, want the old partition of alert_state", dropped)
	}
	if n := count(1, "SELECT count() FROM "+c.DB+".alert_state"); n != 1 {
		t.Errorf("%d alert claims after retention, want the new one", n)
	}

	again, err := chstore.MigrateCluster(ctx, cfg, stacktest.ClusterPlain, &progress)
	if err != nil || len(again) != 0 {
		t.Fatalf("second run applied %v, %v; want nothing", again, err)
	}
	_, err = chstore.MigrateCluster(ctx, cfg, "plain_replicas", &progress)
	if err == nil || !strings.Contains(err.Error(), "shard 1 has several replicas") {
		t.Errorf("a shard of two replicas without macros: got %v, want a refusal", err)
	}
}
