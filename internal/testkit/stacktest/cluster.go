package stacktest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chstore"
	"tagpulse/internal/kafkaclient"
)

// This file gives tests their piece of the cluster profile of the stack
// (scripts/stack up --cluster, docs/scaling.md): three Kafka brokers, and
// four ClickHouse 18.16 servers coordinated by ZooKeeper.

const clusterHint = "run scripts/stack up --cluster"

// Addresses of the cluster profile; the environment may point elsewhere.
var (
	// ClusterKafkaBrokers lists the three brokers, comma-separated.
	ClusterKafkaBrokers = env("TAGPULSE_TEST_CLUSTER_KAFKA_BROKERS", "127.0.0.1:19091,127.0.0.1:19092,127.0.0.1:19093")
	// ClusterClickHouseAddrs lists the native addresses of cch1..cch4,
	// comma-separated, in that order.
	ClusterClickHouseAddrs = env("TAGPULSE_TEST_CLUSTER_CLICKHOUSE_ADDRS", "127.0.0.1:19001,127.0.0.1:19002,127.0.0.1:19003,127.0.0.1:19004")
)

// The clusters (<remote_servers>) every ClickHouse server of the profile
// knows, by their names in ON CLUSTER and Distributed.
const (
	// ClusterReplicated is 1 shard of 2 replicas: cch1, cch2.
	ClusterReplicated = "rep"
	// ClusterSharded is 2 shards of 1 replica: cch1 | cch3.
	ClusterSharded = "shard"
	// ClusterReplicatedSharded is 2 shards of 2 replicas: cch1, cch2 |
	// cch3, cch4. Every server is in it.
	ClusterReplicatedSharded = "rep_shard"
)

// RequireCluster marks a test that needs the cluster profile. It runs only
// with TAGPULSE_CLUSTER_TESTS=1 (and skips, saying so, without it): the
// profile is started apart from the default stack.
func RequireCluster(t testing.TB) {
	t.Helper()
	Require(t)
	if os.Getenv("TAGPULSE_CLUSTER_TESTS") != "1" {
		t.Skip("needs the cluster profile: run scripts/stack up --cluster, then set TAGPULSE_CLUSTER_TESTS=1")
	}
}

// ClusterKafka is Kafka on the cluster profile's three brokers: a new topic
// (and its dead-letter topic) created by kafkaclient with the brokers'
// default replication, deleted when the test ends.
func ClusterKafka(t testing.TB, partitions int) *kafkaclient.Config {
	t.Helper()
	RequireCluster(t)
	return kafkaOn(t, ClusterKafkaBrokers, partitions, clusterHint)
}

// ClickHouseCluster is a new database on every ClickHouse server of the
// cluster profile, created ON CLUSTER rep_shard and dropped the same way
// when the test ends.
type ClickHouseCluster struct {
	// DB is the database's name.
	DB string
	// Nodes holds one connection per server, cch1 first, on database
	// default: qualify table names with DB.
	Nodes []driver.Conn
}

// ClusterClickHouse creates a ClickHouseCluster for t.
func ClusterClickHouse(t testing.TB) *ClickHouseCluster {
	t.Helper()
	RequireCluster(t)
	c := &ClickHouseCluster{DB: UniqueName("test")}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addrs := strings.Split(ClusterClickHouseAddrs, ",")
	for _, addr := range addrs {
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, Auth: clickhouse.Auth{Database: "default", Username: "default"}})
		if err == nil {
			err = conn.Ping(ctx)
		}
		if err != nil {
			t.Fatalf("ClickHouse is not reachable at %s: %v; %s", addr, err, clusterHint)
		}
		t.Cleanup(func() { conn.Close() })
		c.Nodes = append(c.Nodes, conn)
	}
	if err := c.Nodes[0].Exec(ctx, fmt.Sprintf("CREATE DATABASE %s ON CLUSTER %s", c.DB, ClusterReplicatedSharded)); err != nil {
		t.Fatalf("creating test database %s on cluster %s: %v", c.DB, ClusterReplicatedSharded, err)
	}
	// Registered after the connections' Close, so it runs before them.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := c.Nodes[0].Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s ON CLUSTER %s", c.DB, ClusterReplicatedSharded)); err != nil {
			t.Logf("dropping test database %s on cluster %s: %v", c.DB, ClusterReplicatedSharded, err)
		}
	})
	return c
}

// DropLocal drops, when the test ends, the database of each server's own
// tables that `aggregate migrate --cluster` makes beside DB
// (chstore.LocalDatabase).
func (c *ClickHouseCluster) DropLocal(t testing.TB) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		local := chstore.LocalDatabase(c.DB)
		if err := c.Nodes[0].Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s ON CLUSTER %s", local, ClusterReplicatedSharded)); err != nil {
			t.Logf("dropping test database %s on cluster %s: %v", local, ClusterReplicatedSharded, err)
		}
	})
}

// Count returns SELECT count() FROM table on server i (0 is cch1), table
// being in DB unless qualified with its database.
func (c *ClickHouseCluster) Count(t testing.TB, i int, table string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if !strings.Contains(table, ".") {
		table = c.DB + "." + table
	}
	var n uint64
	if err := c.Nodes[i].QueryRow(ctx, "SELECT count() FROM "+table).Scan(&n); err != nil {
		t.Fatalf("counting %s on cch%d: %v", table, i+1, err)
	}
	return n
}

// KillCluster sends SIGKILL to the server of svc, a service of the cluster
// profile; its supervisor starts it again after about a second.
func KillCluster(t testing.TB, svc string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(t), ".stack", "cluster", svc, "server.pid"))
	if err != nil {
		t.Fatalf("reading the server PID of %s: %v", svc, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("the server PID of %s: %v", svc, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing %s (pid %d): %v", svc, pid, err)
	}
}
