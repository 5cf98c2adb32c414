package chstore_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chengine"
	"tagpulse/internal/chstore"
	"tagpulse/internal/testkit/stacktest"
)

// TestClusterMigrate creates the schema on the cluster profile's 2 shards ×
// 2 replicas, writes mentions through the Distributed table and checks
// where they land: each post whole on one shard, on both of its replicas,
// with its hours marked on that shard. Run again, the migration applies
// nothing; after a column goes missing on the cluster, it adds it back; a
// rollup table of another granularity is made again and its hours marked;
// and a server that lost tables, as a new one lacks them, gets them.
func TestClusterMigrate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, cfg, applied := migratedCluster(ctx, t)
	local := chstore.LocalDatabase(c.DB)
	addrs := strings.Split(stacktest.ClusterClickHouseAddrs, ",")
	var progress bytes.Buffer
	all, err := chstore.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(all) {
		t.Fatalf("applied %v, want all %d migrations", applied, len(all))
	}
	engines := []engine{
		{c.DB, "mentions", "Distributed"},
		{local, "mentions", "ReplicatedReplacingMergeTree"},
		{c.DB, "posts", "Distributed"},
		{local, "tag_hour", "ReplicatedMergeTree"},
		{c.DB, "hidden_tags", "ReplicatedReplacingMergeTree"},
		{c.DB, "schema_migrations", "ReplicatedReplacingMergeTree"},
		{local, "rollup_dirty_from_mentions", "MaterializedView"},
		{c.DB, "migrate_progress", ""},
		{local, "hidden_tags", "View"},
		{c.DB, "topics", "ReplicatedReplacingMergeTree"},
		{local, "topic_hour", "ReplicatedMergeTree"},
	}
	checkEngines(ctx, t, c, engines)

	// 200 posts of two tags each, written through cch1's Distributed table.
	_, at := writeTwoTagPosts(ctx, t, addrs[0], c.DB)
	for _, i := range []int{1, 3} { // the second replica of each shard
		if err := c.Nodes[i].Exec(ctx, "SYSTEM SYNC REPLICA "+local+".mentions"); err != nil {
			t.Fatalf("cch%d: %v", i+1, err)
		}
	}
	count := func(i int, q string) uint64 {
		t.Helper()
		var n uint64
		if err := c.Nodes[i].QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatalf("cch%d: %s: %v", i+1, q, err)
		}
		return n
	}
	shard1, shard2 := count(0, "SELECT count() FROM "+local+".mentions"), count(2, "SELECT count() FROM "+local+".mentions")
	if shard1 == 0 || shard2 == 0 || shard1+shard2 != 400 {
		t.Fatalf("shards hold %d and %d mentions, want 400 in all and some on each", shard1, shard2)
	}
	if r1, r2 := count(1, "SELECT count() FROM "+local+".mentions"), count(3, "SELECT count() FROM "+local+".mentions"); r1 != shard1 || r2 != shard2 {
		t.Fatalf("second replicas hold %d and %d mentions, want %d and %d", r1, r2, shard1, shard2)
	}
	posts1 := count(0, "SELECT uniqExact(post_id) FROM "+local+".mentions")
	posts2 := count(2, "SELECT uniqExact(post_id) FROM "+local+".mentions")
	if posts1+posts2 != 200 || posts1*2 != shard1 {
		t.Fatalf("shards hold %d and %d posts (%d and %d mentions): a post is split across shards", posts1, posts2, shard1, shard2)
	}
	if got := count(3, "SELECT uniqExact(post_id) FROM "+c.DB+".mentions WHERE tag = 'otan'"); got != 200 {
		t.Fatalf("read through cch4's Distributed mentions: %d posts of otan, want 200", got)
	}
	for _, i := range []int{0, 2} {
		if got := count(i, fmt.Sprintf("SELECT count() FROM %s.rollup_dirty WHERE hour = toDateTime(%d)", local, at.Truncate(time.Hour).Unix())); got == 0 {
			t.Errorf("cch%d: the shard's rollup_dirty has no mark of the hour it received rows for", i+1)
		}
	}

	again, err := chstore.MigrateCluster(ctx, cfg, stacktest.ClusterReplicatedSharded, &progress)
	if err != nil || len(again) != 0 {
		t.Fatalf("second run applied %v, %v; want nothing", again, err)
	}

	// An older cluster, without the bot column: the migration adds it.
	on := " ON CLUSTER " + stacktest.ClusterReplicatedSharded
	for _, q := range []string{
		"DROP TABLE " + c.DB + ".mentions" + on,
		"ALTER TABLE " + local + ".mentions" + on + " DROP COLUMN bot",
		"CREATE TABLE " + c.DB + ".mentions" + on + " AS " + local + ".mentions ENGINE = Distributed(" + stacktest.ClusterReplicatedSharded + ", " + local + ", mentions, cityHash64(post_id))",
	} {
		if err := c.Nodes[0].Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := chstore.MigrateCluster(ctx, cfg, stacktest.ClusterReplicatedSharded, &progress); err != nil {
		t.Fatal(err)
	}
	for i := range c.Nodes {
		for _, db := range []string{c.DB, local} {
			if got := count(i, "SELECT count() FROM system.columns WHERE database = '"+db+"' AND table = 'mentions' AND name = 'bot'"); got != 1 {
				t.Errorf("cch%d: %s.mentions has no bot column after the migration", i+1, db)
			}
		}
	}
	if !strings.Contains(progress.String(), "added "+local+".mentions.bot") {
		t.Errorf("progress does not report the added column:\n%s", progress.String())
	}

	// An older cluster, whose tag_hour has granules of 8192 rows: the
	// migration makes it again with 256, and marks every hour on both
	// shards so their workers recompute it.
	columns, tagHour, err := chengine.Definition(ctx, c.Nodes[0], local+".tag_hour")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"DROP TABLE " + local + ".tag_hour" + on,
		"CREATE TABLE " + local + ".tag_hour" + on + " " + columns + " ENGINE = " + chengine.WithGranularity(tagHour, 8192),
	} {
		if err := c.Nodes[0].Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	marks := func() (n uint64) {
		for _, i := range []int{0, 2} {
			n += count(i, "SELECT count() FROM "+local+".rollup_dirty")
		}
		return n
	}
	before := marks()
	if _, err := chstore.MigrateCluster(ctx, cfg, stacktest.ClusterReplicatedSharded, &progress); err != nil {
		t.Fatal(err)
	}
	for i, node := range c.Nodes {
		_, engine, err := chengine.Definition(ctx, node, local+".tag_hour")
		if err != nil {
			t.Fatal(err)
		}
		if got := chengine.Granularity(engine); got != 256 {
			t.Errorf("cch%d: tag_hour has granules of %d rows after the migration, want 256", i+1, got)
		}
	}
	if !strings.Contains(progress.String(), local+".tag_hour gets granules of 256 rows") {
		t.Errorf("progress does not report the new granules:\n%s", progress.String())
	}
	if after := marks(); after < before+2 {
		t.Errorf("the shards hold %d marks after the migration, %d before: want every hour marked again on both", after, before)
	}

	// A server that lacks tables, as one added to the cluster does, gets
	// them on the next run.
	for _, q := range []string{"DROP TABLE " + local + ".posts", "DROP TABLE " + c.DB + ".posts", "DROP TABLE " + c.DB + ".hidden_tags"} {
		if err := c.Nodes[3].Exec(ctx, q); err != nil {
			t.Fatalf("cch4: %s: %v", q, err)
		}
	}
	if _, err := chstore.MigrateCluster(ctx, cfg, stacktest.ClusterReplicatedSharded, &progress); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{local + ".posts", c.DB + ".posts", c.DB + ".hidden_tags"} {
		if got := count(3, "SELECT count() FROM system.tables WHERE database || '.' || name = '"+table+"'"); got != 1 {
			t.Errorf("cch4 has no %s after the migration ran again", table)
		}
	}

	if _, err := chstore.MigrateCluster(ctx, cfg, "nosuchcluster", &progress); err == nil || !strings.Contains(err.Error(), "nosuchcluster is not in the <remote_servers>") {
		t.Errorf("unknown cluster: got %v", err)
	}
}

// TestClusterRetentionOfSharedTables migrates the cluster profile's 2 × 2
// servers, writes alert claims of two months ago and of now, and topic
// edit marks of two months ago and of now, into the tables every server
// shares, then drops partitions past a week on cch1's connection to the
// database of the Distributed tables, as `aggregate run --cluster` does:
// the old claims and marks are gone from every server, the new ones stay
// everywhere, and the shards' own tables are left alone.
func TestClusterRetentionOfSharedTables(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, cfg, _ := migratedCluster(ctx, t)
	local := chstore.LocalDatabase(c.DB)
	conn, err := chstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	now := time.Now().UTC()
	old := now.AddDate(0, -2, 0)
	for _, q := range []string{
		// INSERT … SELECT: 18.16 takes no INSERT … VALUES with bound values through Exec.
		"INSERT INTO alert_state (rule, tag, claimed_at, claimant, sent) SELECT 'spike', 'otan', toDateTime(@old), 'a', 1",
		"INSERT INTO alert_state (rule, tag, claimed_at, claimant, sent) SELECT 'spike', 'otan', toDateTime(@now), 'a', 1",
		"INSERT INTO topic_dirty (hour, marked_at) SELECT toStartOfHour(toDateTime(@old)), toDateTime(@now)",
		"INSERT INTO topic_dirty (hour, marked_at) SELECT toStartOfHour(toDateTime(@now)), toDateTime(@now)",
	} {
		if err := conn.Exec(ctx, q, clickhouse.Named("old", old.Unix()), clickhouse.Named("now", now.Unix())); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	dropped, err := chstore.DropPartitionsBefore(ctx, conn, now.AddDate(0, 0, -7))
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]bool{}
	for _, p := range dropped {
		tables[p.Table] = true
	}
	if !tables["alert_state"] || !tables["topic_dirty"] || len(tables) != 2 {
		t.Errorf("dropped partitions of %v, want those of alert_state and topic_dirty only", tables)
	}
	for i, node := range c.Nodes {
		for _, table := range []string{"alert_state", "topic_dirty"} {
			if err := node.Exec(ctx, "SYSTEM SYNC REPLICA "+c.DB+"."+table); err != nil {
				t.Fatalf("cch%d: syncing %s: %v", i+1, table, err)
			}
		}
		if n := c.Count(t, i, "alert_state"); n != 1 {
			t.Errorf("cch%d holds %d alert claims, want the new one only", i+1, n)
		}
		if n := c.Count(t, i, "topic_dirty"); n != 1 {
			t.Errorf("cch%d holds %d topic marks, want the new one only", i+1, n)
		}
		if n := c.Count(t, i, local+".alert_state"); n != 1 {
			t.Errorf("cch%d's view of the claims in %s holds %d, want 1", i+1, local, n)
		}
	}
}

// migratedCluster migrates a fresh database on the cluster profile's 2 × 2
// servers through cch1, dropped with its local database when the test
// ends, and returns the cluster, the configuration that reaches it and
// the migrations applied.
func migratedCluster(ctx context.Context, t *testing.T) (*stacktest.ClickHouseCluster, chstore.Config, []int) {
	t.Helper()
	c := stacktest.ClusterClickHouse(t)
	c.DropLocal(t)
	addrs := strings.Split(stacktest.ClusterClickHouseAddrs, ",")
	cfg := chstore.Config{DSN: "clickhouse://default:@" + addrs[0] + "/" + c.DB}
	var progress bytes.Buffer
	applied, err := chstore.MigrateCluster(ctx, cfg, stacktest.ClusterReplicatedSharded, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	return c, cfg, applied
}

// engine is the engine a table should have: none ("") when it should not
// exist.
type engine struct{ db, table, want string }

// checkEngines checks the engine of each table of engines on every server
// of c.
func checkEngines(ctx context.Context, t *testing.T, c *stacktest.ClickHouseCluster, engines []engine) {
	t.Helper()
	for i, node := range c.Nodes {
		for _, e := range engines {
			var got string
			err := node.QueryRow(ctx, "SELECT engine FROM system.tables WHERE database = ? AND name = ?", e.db, e.table).Scan(&got)
			if err != nil && e.want != "" {
				t.Fatalf("%s: %s.%s: %v", c.Addrs[i], e.db, e.table, err)
			}
			if got != e.want {
				t.Errorf("%s: %s.%s has engine %q, want %q", c.Addrs[i], e.db, e.table, got, e.want)
			}
		}
	}
}

// writeTwoTagPosts writes 200 posts of the tags otan and drones, in one
// hour, through the Distributed mentions of db on the server at addr, and
// returns the connection it wrote with (closed when the test ends) and
// the posts' time.
func writeTwoTagPosts(ctx context.Context, t *testing.T, addr, db string) (driver.Conn, time.Time) {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, Auth: clickhouse.Auth{Database: db, Username: "default"},
		Settings: clickhouse.Settings{"insert_distributed_sync": 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	at := time.Date(2025, 11, 5, 9, 30, 0, 0, time.UTC)
	var rows []chstore.Mention
	for i := range 200 {
		for _, tag := range []string{"otan", "drones"} {
			rows = append(rows, chstore.Mention{PostID: fmt.Sprintf("p%d", i), Account: fmt.Sprintf("a%d", i%17), Tag: tag, Display: tag,
				CreatedAt: at, Source: "file", Lang: "fr", InsertedAt: at})
		}
	}
	if err := chstore.InsertMentions(ctx, conn, rows); err != nil {
		t.Fatal(err)
	}
	return conn, at
}
