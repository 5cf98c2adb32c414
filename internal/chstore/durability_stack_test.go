package chstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/chstore"
	"tagpulse/internal/testkit/stacktest"
)

// TestPrepareDurability applies each --insert-durability mode to a
// migrated database and checks what the server then holds: on a server
// with fsync_after_insert (current releases) fsync and auto set it on
// every MergeTree table; on one without (18.16) fsync refuses with
// ErrFsyncUnsupported and auto reports no fsync; server changes nothing.
func TestPrepareDurability(t *testing.T) {
	for _, mode := range []chstore.FsyncMode{chstore.FsyncRequired, chstore.FsyncAuto, chstore.FsyncServer} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			cfg, conn := stacktest.ClickHouse(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := chstore.Migrate(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			var supported uint64
			if err := conn.QueryRow(ctx, "SELECT count() FROM system.merge_tree_settings WHERE name = 'fsync_after_insert'").Scan(&supported); err != nil {
				t.Fatal(err)
			}
			fsynced, err := chstore.PrepareDurability(ctx, conn, mode)
			wantFsync := supported == 1 && mode != chstore.FsyncServer
			switch {
			case supported == 0 && mode == chstore.FsyncRequired:
				if !errors.Is(err, chstore.ErrFsyncUnsupported) {
					t.Fatalf("PrepareDurability(fsync) on a server without fsync_after_insert: err %v, want ErrFsyncUnsupported", err)
				}
			case err != nil:
				t.Fatalf("PrepareDurability(%s): %v", mode, err)
			case fsynced != wantFsync:
				t.Fatalf("PrepareDurability(%s) reported fsync %v, want %v", mode, fsynced, wantFsync)
			}
			rows, err := conn.Query(ctx, "SELECT name, create_table_query FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree'")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			tables := 0
			for rows.Next() {
				var name, create string
				if err := rows.Scan(&name, &create); err != nil {
					t.Fatal(err)
				}
				tables++
				if has := strings.Contains(create, "fsync_after_insert = 1"); has != wantFsync {
					t.Errorf("table %s has fsync_after_insert = 1: %v, want %v (%s)", name, has, wantFsync, create)
				}
			}
			if tables < 2 {
				t.Errorf("found %d MergeTree tables, want mentions and the views' tables", tables)
			}
		})
	}
}

// TestInsertSendsQuorum checks that Durability.Quorum reaches the server
// with the insert: a quorum of 1 is accepted (a table that is not
// replicated ignores it) and the rows are stored, while a value the
// server cannot take for insert_quorum (UInt64) fails the insert, which
// it could not if the setting were not sent.
func TestInsertSendsQuorum(t *testing.T) {
	cfg, conn := stacktest.ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := chstore.Migrate(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	row := chstore.Mention{PostID: "p1", Tag: "durable", Display: "Durable", CreatedAt: time.Unix(1_700_000_000, 0).UTC(), Source: "test", Lang: "en", InsertedAt: time.Unix(1_700_000_001, 0).UTC()}
	var ok chstore.Mentions
	ok.Append(row)
	if err := ok.Insert(ctx, conn, chstore.Durability{Quorum: 1}); err != nil {
		t.Fatalf("insert with insert_quorum=1: %v", err)
	}
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM mentions WHERE post_id = 'p1'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("mentions holds %d rows of p1 after the insert, want 1", n)
	}
	err := ok.Insert(ctx, conn, chstore.Durability{Quorum: -1})
	if err == nil {
		t.Fatal("insert with insert_quorum=-1 succeeded: the setting did not reach the server")
	}
	t.Logf("insert_quorum=-1 refused as it should be: %v", err)
}
