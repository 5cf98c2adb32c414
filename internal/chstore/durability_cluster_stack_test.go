package chstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"tagpulse/internal/chstore"
	"tagpulse/internal/testkit/stacktest"
)

// TestClusterInsertQuorum inserts mentions into a ReplicatedMergeTree
// mentions table on the cluster profile's rep layout (cch1, cch2) with
// Durability.Quorum 2: with both replicas up the insert is acknowledged
// and both hold the rows; with cch2 stopped the same insert fails instead
// of being acknowledged with one copy (and writes nothing), while one
// without a quorum is still acknowledged. It stops cch2: scripts/test runs
// the cluster packages one at a time.
func TestClusterInsertQuorum(t *testing.T) {
	c := stacktest.ClusterClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	create := fmt.Sprintf(`CREATE TABLE %[1]s.mentions ON CLUSTER %[2]s (post_id String, tag String, display String, created_at DateTime, source String, lang String, account String, extractor_version UInt16, kafka_partition Int32, kafka_offset Int64, inserted_at DateTime, bot UInt8 DEFAULT 0)
		ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/%[1]s/mentions', '{replica}') ORDER BY (tag, post_id)`, c.DB, stacktest.ClusterReplicated)
	if err := c.Nodes[0].Exec(ctx, create); err != nil {
		t.Fatal(err)
	}
	cch1 := strings.Split(stacktest.ClusterClickHouseAddrs, ",")[0]
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{cch1}, Auth: clickhouse.Auth{Database: c.DB, Username: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows := func(prefix string) *chstore.Mentions {
		var m chstore.Mentions
		for i := range 100 {
			m.Append(chstore.Mention{PostID: fmt.Sprintf("%s%d", prefix, i), Tag: "quorum", CreatedAt: time.Unix(1_700_000_000, 0).UTC(), InsertedAt: time.Unix(1_700_000_000, 0).UTC()})
		}
		return &m
	}
	quorum := chstore.Durability{Quorum: 2}

	if err := rows("a").Insert(ctx, conn, quorum); err != nil {
		t.Fatalf("insert with insert_quorum=2, both replicas up: %v", err)
	}
	// A quorum insert returns once both replicas hold the part: no wait.
	if a, b := c.Count(t, 0, "mentions"), c.Count(t, 1, "mentions"); a != 100 || b != 100 {
		t.Fatalf("after a quorum insert cch1 holds %d rows, cch2 %d, want 100 each", a, b)
	}

	stack := stacktest.StackScript(filepath.Join(stacktest.RepoRoot(t), "scripts", "stack"))
	stack.Stop(t, "cch2")
	// ClickHouse refuses at once when fewer replicas are active than the
	// quorum (TOO_FEW_LIVE_REPLICAS); the minute only bounds a hang.
	qctx, qcancel := context.WithTimeout(ctx, time.Minute)
	defer qcancel()
	err = rows("b").Insert(qctx, conn, quorum)
	if err == nil {
		t.Fatal("insert with insert_quorum=2 and cch2 stopped was acknowledged with one copy")
	}
	t.Logf("refused as it should be: %v", err)
	if err := rows("c").Insert(ctx, conn, chstore.Durability{}); err != nil {
		t.Fatalf("insert without a quorum, cch2 stopped: %v", err)
	}
	if n := c.Count(t, 0, "mentions"); n != 200 {
		t.Errorf("cch1 holds %d rows, want 200: the quorum insert's and the one without", n)
	}
}
