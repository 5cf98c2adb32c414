package deploycheck

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/testkit/stacktest"
)

// TestBackupAndRestoreOfClickHouse follows docs/operations.md "Backup and
// restore" on the local stack's ClickHouse: posts go through ingest and
// aggregate into a database, mentions is dumped with clickhouse-client in
// the Native format, a second database gets the schema from `aggregate
// migrate`, the dump is inserted into its mentions, and `aggregate migrate
// --rollup-all` recomputes the hour and day rollups from it: every count
// must match the original's.
func TestBackupAndRestoreOfClickHouse(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and loads posts")
	}
	k := stacktest.Kafka(t, 3)
	src, srcConn := stacktest.ClickHouse(t)
	dst, dstConn := stacktest.ClickHouse(t)
	bin := stacktest.Binaries(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	env := func(dsn string) []string {
		return []string{"PATH=/usr/bin:/bin", "KAFKA_BROKERS=" + strings.Join(k.Brokers, ","), "KAFKA_TOPIC=" + k.Topic, "KAFKA_GROUP=" + k.Topic, "CLICKHOUSE_DSN=" + dsn}
	}
	run := func(env []string, stdin, stdout string, name string, args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if stdin != "" {
			f, err := os.Open(stdin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cmd.Stdin = f
		}
		if stdout != "" {
			f, err := os.Create(stdout)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cmd.Stdout = f
		}
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
		}
	}

	corpus := filepath.Join(dir, "corpus.jsonl")
	run(env(src.DSN), "", "", filepath.Join(bin, "ingest"), "gen-corpus", "--posts", "3000", "--span", "48h", "--output", corpus)
	run(env(src.DSN), "", "", filepath.Join(bin, "ingest"), "file", corpus)
	run(env(src.DSN), "", "", filepath.Join(bin, "aggregate"), "run", "--until-caught-up", "--http-addr", "")

	host, port, err := net.SplitHostPort(stacktest.ClickHouseAddr)
	if err != nil {
		t.Fatal(err)
	}
	client := []string{"--host", host, "--port", port}
	dump := filepath.Join(dir, "mentions.native")
	run(env(src.DSN), "", dump, "clickhouse-client", append(client, "--query", "SELECT * FROM "+database(t, srcConn)+".mentions FORMAT Native")...)
	run(env(dst.DSN), "", "", filepath.Join(bin, "aggregate"), "migrate")
	run(env(dst.DSN), dump, "", "clickhouse-client", append(client, "--query", "INSERT INTO "+database(t, dstConn)+".mentions FORMAT Native")...)
	if n := count(t, dstConn, "SELECT count() FROM rollup_done"); n != 0 {
		t.Fatalf("rollup_done holds %d records before --rollup-all, want none", n)
	}
	run(env(dst.DSN), "", "", filepath.Join(bin, "aggregate"), "migrate", "--rollup-all")
	// TagTotals below reads the hours and days the rollup has done from
	// its tables, and errs if they disagree with mentions.
	if n := count(t, dstConn, "SELECT count() FROM rollup_done"); n == 0 {
		t.Fatal("after migrate --rollup-all, rollup_done holds no record")
	}

	for _, q := range []string{
		"SELECT count() FROM mentions",
		"SELECT count() FROM (SELECT DISTINCT tag, post_id FROM mentions)",
		"SELECT count() FROM (SELECT tag FROM tag_display_day GROUP BY tag)",
	} {
		want, got := count(t, srcConn, q), count(t, dstConn, q)
		if want == 0 || got != want {
			t.Errorf("%s: restored %d, original %d (want equal and above 0)", q, got, want)
		}
	}
	want, got := stacktest.TagTotals(t, srcConn), stacktest.TagTotals(t, dstConn)
	if len(want) == 0 || !maps.Equal(got, want) {
		t.Errorf("distinct posts per tag: restored %d tags, original %d; they differ", len(got), len(want))
	}
}

func database(t *testing.T, conn driver.Conn) string {
	t.Helper()
	var db string
	if err := conn.QueryRow(context.Background(), "SELECT currentDatabase()").Scan(&db); err != nil {
		t.Fatalf("reading the current database: %v", err)
	}
	return db
}

func count(t *testing.T, conn driver.Conn, query string) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(fmt.Errorf("%s: %w", query, err))
	}
	return n
}
