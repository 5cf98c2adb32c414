package chstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chstore"
	"tagpulse/internal/testkit/stacktest"
)

// BenchmarkInsertDurability measures the cost of --insert-durability=fsync:
// inserts of 100,000 mention rows (the aggregator's default --batch-rows)
// into two migrated databases, one with the tables as the server makes
// them and one with fsync_after_insert set. Each iteration inserts into
// both, in alternating order, so the two are paired under the same load
// of a shared machine; it reports each one's rows/s and their ratio. On a
// server without fsync_after_insert (18.16) it is skipped, saying why.
// BENCHMARKS.md records a run on ClickHouse 26.9:
//
//	TAGPULSE_TEST_CLICKHOUSE_ADDR=127.0.0.1:9001 go test -run '^$' -bench InsertDurability -benchtime 20x ./internal/chstore/
func BenchmarkInsertDurability(b *testing.B) {
	const rows = 100000
	var m chstore.Mentions
	base := time.Unix(1_700_000_000, 0).UTC()
	for i := range rows {
		m.Append(chstore.Mention{
			PostID: "post" + strconv.Itoa(i/2), Tag: "tag" + strconv.Itoa(i%500), Display: "Tag", CreatedAt: base.Add(time.Duration(i) * time.Millisecond),
			Source: "bench", Lang: "en", ExtractorVersion: 1, KafkaOffset: int64(i), InsertedAt: base,
		})
	}
	ctx := context.Background()
	open := func(mode chstore.FsyncMode) driver.Conn {
		cfg, conn := stacktest.ClickHouse(b)
		if _, err := chstore.Migrate(ctx, cfg); err != nil {
			b.Fatal(err)
		}
		if _, err := chstore.PrepareDurability(ctx, conn, mode); err != nil {
			b.Skipf("--insert-durability=%s: %v", mode, err)
		}
		return conn
	}
	conns := [2]driver.Conn{open(chstore.FsyncServer), open(chstore.FsyncRequired)}
	var spent [2]time.Duration
	i := 0
	for b.Loop() {
		for k := range 2 {
			which := (i + k) % 2
			start := time.Now()
			if err := m.Insert(ctx, conns[which], chstore.Durability{}); err != nil {
				b.Fatalf("insert: %v", err)
			}
			spent[which] += time.Since(start)
		}
		i++
	}
	server, fsync := float64(rows*i)/spent[0].Seconds(), float64(rows*i)/spent[1].Seconds()
	b.ReportMetric(server, "server-rows/s")
	b.ReportMetric(fsync, "fsync-rows/s")
	b.ReportMetric(fsync/server, "fsync/server")
}
