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
// four ClickHouse 18.16 servers coordinated by ZooKeeper, and two ClickHouse
// 26.9 servers as plain shards.

const clusterHint = "run scripts/stack up --cluster"

// Addresses of the cluster profile; the environment may point elsewhere.
var (
	// ClusterKafkaBrokers lists the three brokers, comma-separated.
	ClusterKafkaBrokers = env("TAGPULSE_TEST_CLUSTER_KAFKA_BROKERS", "127.0.0.1:19091,127.0.0.1:19092,127.0.0.1:19093")
	// ClusterClickHouseAddrs lists the native addresses of cch1..cch4,
	// comma-separated, in that order.
	ClusterClickHouseAddrs = env("TAGPULSE_TEST_CLUSTER_CLICKHOUSE_ADDRS", "127.0.0.1:19001,127.0.0.1:19002,127.0.0.1:19003,127.0.0.1:19004")
	// ClusterPlainAddrs lists the native addresses of cplain1 and
	// cplain2, the ClickHouse 26.9 servers, comma-separated.
	ClusterPlainAddrs = env("TAGPULSE_TEST_CLUSTER_PLAIN_ADDRS", "127.0.0.1:19005,127.0.0.1:19006")
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
	// ClusterPlain is 2 shards of 1 ClickHouse 26.9 server each, with no
	// replication: cplain1 | cplain2. Only they know it.
	ClusterPlain = "plain"
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

// ClickHouseCluster is a new database on every ClickHouse server of a
// cluster of the profile, dropped when the test ends.
type ClickHouseCluster struct {
	// DB is the database's name.
	DB string
	// Cluster is the cluster's name in the servers' <remote_servers>.
	Cluster string
	// Addrs are the servers' native addresses, in the order of Nodes.
	Addrs []string
	// Nodes holds one connection per server, the first server first, on
	// database default: qualify table names with DB.
	Nodes []driver.Conn
	// plain: the servers do not replicate, and DDL runs on each of them.
	plain bool
}

// ClusterClickHouse creates a ClickHouseCluster on the four 18.16 servers
// (cch1 first), ON CLUSTER rep_shard.
func ClusterClickHouse(t testing.TB) *ClickHouseCluster {
	t.Helper()
	return clusterClickHouse(t, ClusterReplicatedSharded, ClusterClickHouseAddrs, false)
}

// PlainClusterClickHouse creates a ClickHouseCluster on the two 26.9
// servers of the cluster plain (cplain1 first), server by server.
func PlainClusterClickHouse(t testing.TB) *ClickHouseCluster {
	t.Helper()
	return clusterClickHouse(t, ClusterPlain, ClusterPlainAddrs, true)
}

func clusterClickHouse(t testing.TB, cluster, addrs string, plain bool) *ClickHouseCluster {
	t.Helper()
	RequireCluster(t)
	c := &ClickHouseCluster{DB: UniqueName("test"), Cluster: cluster, Addrs: strings.Split(addrs, ","), plain: plain}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, addr := range c.Addrs {
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
	if err := c.ddl(ctx, "CREATE DATABASE %s", c.DB); err != nil {
		t.Fatalf("creating test database %s on cluster %s: %v", c.DB, cluster, err)
	}
	// Registered after the connections' Close, so it runs before them.
	c.dropAtEnd(t, c.DB)
	return c
}

// ddl runs the statement format (with args) on the cluster: ON CLUSTER
// through the first server, or on each server of a plain cluster.
func (c *ClickHouseCluster) ddl(ctx context.Context, format string, args ...any) error {
	q := fmt.Sprintf(format, args...)
	if !c.plain {
		return c.Nodes[0].Exec(ctx, q+" ON CLUSTER "+c.Cluster)
	}
	for i, n := range c.Nodes {
		if err := n.Exec(ctx, q); err != nil {
			return fmt.Errorf("on %s: %w", c.Addrs[i], err)
		}
	}
	return nil
}

// dropAtEnd drops database on the cluster when the test ends.
func (c *ClickHouseCluster) dropAtEnd(t testing.TB, database string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := c.ddl(ctx, "DROP DATABASE IF EXISTS %s", database); err != nil {
			t.Logf("dropping test database %s on cluster %s: %v", database, c.Cluster, err)
		}
	})
}

// DropLocal drops, when the test ends, the databases that `aggregate
// migrate --cluster` makes beside DB: each server's own tables
// (chstore.LocalDatabase) and, on plain shards, the shared tables
// (chstore.SharedDatabase).
func (c *ClickHouseCluster) DropLocal(t testing.TB) {
	t.Helper()
	c.dropAtEnd(t, chstore.LocalDatabase(c.DB))
	if c.plain {
		c.dropAtEnd(t, chstore.SharedDatabase(c.DB))
	}
}

// DSN is the DSN of DB on the cluster's first server.
func (c *ClickHouseCluster) DSN() string {
	return "clickhouse://default:@" + c.Addrs[0] + "/" + c.DB
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
		t.Fatalf("counting %s on %s: %v", table, c.Addrs[i], err)
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
