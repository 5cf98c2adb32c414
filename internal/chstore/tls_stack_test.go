package chstore_test

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/chstore"
	"tagpulse/internal/testkit/stacktest"
)

// TestTLSAgainstTheLocalServer connects to the local ClickHouse's TLS port
// with the stack's self-signed certificate as the CA, runs the migrations
// over it, and checks that the same server is refused when its certificate
// is not trusted.
func TestTLSAgainstTheLocalServer(t *testing.T) {
	stacktest.Require(t)
	const addr = "127.0.0.1:9440"
	if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err != nil {
		t.Fatalf("no ClickHouse TLS port on %s (%v); run scripts/stack up, which restarts a server started with an older configuration", addr, err)
	} else {
		c.Close()
	}
	ca := filepath.Join(stacktest.RepoRoot(t), ".stack", "clickhouse", "tls", "server.crt")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	db := stacktest.UniqueName("tls")
	cfg := chstore.Config{DSN: "clickhouse://default:@" + addr + "/" + db, TLSCAFile: ca}
	t.Cleanup(func() {
		conn, err := chstore.Open(context.Background(), chstore.Config{DSN: "clickhouse://default:@" + stacktest.ClickHouseAddr + "/default"})
		if err == nil {
			conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
			conn.Close()
		}
	})
	if _, err := chstore.Migrate(ctx, cfg); err != nil {
		t.Fatalf("migrating over TLS: %v", err)
	}
	conn, err := chstore.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("connecting over TLS: %v", err)
	}
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ?", db).Scan(&n); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if n == 0 {
		t.Fatalf("no tables in %s after migrating over TLS", db)
	}

	untrusted := chstore.Config{DSN: "clickhouse://default:@" + addr + "/default?secure=true"}
	if _, err := chstore.Open(ctx, untrusted); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a self-signed certificate that is not trusted must be refused, got %v", err)
	}
}
