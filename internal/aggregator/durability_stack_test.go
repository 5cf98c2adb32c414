package aggregator

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tagpulse/internal/chstore"
	"tagpulse/internal/testkit/stacktest"
)

// TestRunAppliesInsertDurability runs the consumer with each
// --insert-durability that can fsync and checks, before any insert, what
// the server was told: on a server with fsync_after_insert (26.9) mentions
// has it set; on one without (18.16) auto runs and logs that a power loss
// can lose acknowledged inserts, and fsync refuses to start with
// chstore.ErrFsyncUnsupported.
func TestRunAppliesInsertDurability(t *testing.T) {
	for _, mode := range []chstore.FsyncMode{chstore.FsyncAuto, chstore.FsyncRequired} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			s := newStack(t, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var supported uint64
			if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.merge_tree_settings WHERE name = 'fsync_after_insert'").Scan(&supported); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(stacktest.UniqueName("group"))
			cfg.InsertDurability = string(mode)
			var logs bytes.Buffer
			c := New(Options{Config: cfg, Kafka: s.kafka, Store: s.conn, Metrics: NewMetrics(prometheus.NewRegistry()), Log: slog.New(slog.NewTextHandler(&logs, nil))})
			err := c.Run(ctx, RunOptions{UntilCaughtUp: true})
			t.Logf("log:\n%s", logs.String())
			if supported == 0 && mode == chstore.FsyncRequired {
				if !errors.Is(err, chstore.ErrFsyncUnsupported) {
					t.Fatalf("run with --insert-durability=fsync on a server without fsync_after_insert: err %v, want ErrFsyncUnsupported", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			var create string
			if err := s.conn.QueryRow(ctx, "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = 'mentions'").Scan(&create); err != nil {
				t.Fatal(err)
			}
			if has := strings.Contains(create, "fsync_after_insert = 1"); has != (supported == 1) {
				t.Errorf("mentions has fsync_after_insert = 1: %v, want %v", has, supported == 1)
			}
			warned := strings.Contains(logs.String(), "cannot fsync inserted parts")
			if warned != (supported == 0) {
				t.Errorf("logged that inserts are not fsynced: %v, want %v", warned, supported == 0)
			}
		})
	}
}
