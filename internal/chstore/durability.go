package chstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// FsyncMode says whether ClickHouse must fsync an inserted part before it
// acknowledges the insert. The aggregator commits Kafka offsets once an
// insert is acknowledged, so without fsync a power loss (not a kill -9:
// the page cache survives that) can lose rows whose offsets are already
// committed (docs/guarantees.md).
type FsyncMode string

// The fsync modes of --insert-durability.
const (
	// FsyncRequired sets fsync_after_insert and fsync_part_directory on
	// every MergeTree table of the database, and refuses to start on a
	// server that has no such table setting (ClickHouse 18.16).
	FsyncRequired FsyncMode = "fsync"
	// FsyncAuto does what FsyncRequired does where the server can, and
	// otherwise keeps the server's behaviour and says so at start-up. It
	// is the default: the safest choice each server offers.
	FsyncAuto FsyncMode = "auto"
	// FsyncServer leaves the tables' settings as they are: an insert is
	// acknowledged once its part is written to the page cache.
	FsyncServer FsyncMode = "server"
)

// ErrFsyncUnsupported is returned by PrepareDurability in FsyncRequired
// mode when the server has no fsync_after_insert MergeTree setting.
var ErrFsyncUnsupported = errors.New("this ClickHouse has no fsync_after_insert MergeTree setting (it came after 18.16): use --insert-durability=auto or server and see docs/guarantees.md")

// Durability says when ClickHouse may acknowledge an insert of the
// aggregator. The zero value keeps the server's defaults.
type Durability struct {
	// Fsync is applied to the tables once, by PrepareDurability.
	Fsync FsyncMode
	// Quorum, when above 0, is sent with every insert as insert_quorum:
	// a replicated table acknowledges only once this many replicas hold
	// the part, and the insert fails otherwise. Non-replicated tables
	// ignore it.
	Quorum int
}

// ParseFsyncMode checks the value of --insert-durability.
func ParseFsyncMode(s string) (FsyncMode, error) {
	switch m := FsyncMode(s); m {
	case FsyncRequired, FsyncAuto, FsyncServer:
		return m, nil
	}
	return "", fmt.Errorf("--insert-durability must be %s, %s or %s, got %q", FsyncRequired, FsyncAuto, FsyncServer, s)
}

// insertSettings are the per-insert settings of d, added to the insert's
// context.
func (d Durability) insertSettings(into clickhouse.Settings) {
	if d.Quorum != 0 {
		into["insert_quorum"] = d.Quorum
	}
}

// Context returns ctx carrying d's per-insert settings, for inserts made
// outside this package (internal/deletion).
func (d Durability) Context(ctx context.Context) context.Context {
	settings := clickhouse.Settings{}
	d.insertSettings(settings)
	return clickhouse.Context(ctx, clickhouse.WithSettings(settings))
}

// fsyncSettings are the MergeTree table settings that make an insert
// return only after its part's files and directory are on disk.
const fsyncSettings = "fsync_after_insert = 1, fsync_part_directory = 1"

// PrepareDurability applies mode to the MergeTree tables of the
// connection's database: the mentions table and the tables its
// materialized views write, all of which an insert's acknowledgement
// covers. It reports whether inserts are now fsynced. With FsyncServer it
// changes nothing; on a server without fsync_after_insert it returns
// ErrFsyncUnsupported for FsyncRequired and false for FsyncAuto. It is
// idempotent, and run at every start so tables added by a migration are
// covered too.
func PrepareDurability(ctx context.Context, conn driver.Conn, mode FsyncMode) (bool, error) {
	if mode == FsyncServer || mode == "" {
		return false, nil
	}
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.merge_tree_settings WHERE name IN ('fsync_after_insert', 'fsync_part_directory')").Scan(&n); err != nil {
		return false, fmt.Errorf("reading the server's MergeTree settings: %w", err)
	}
	if n < 2 {
		if mode == FsyncRequired {
			return false, ErrFsyncUnsupported
		}
		return false, nil
	}
	rows, err := conn.Query(ctx, "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree' ORDER BY name")
	if err != nil {
		return false, fmt.Errorf("listing MergeTree tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return false, fmt.Errorf("listing MergeTree tables: %w", err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("listing MergeTree tables: %w", err)
	}
	for _, t := range tables {
		// A table name cannot be a query parameter; these come from
		// system.tables and are quoted as identifiers.
		if err := conn.Exec(ctx, "ALTER TABLE "+quoteIdent(t)+" MODIFY SETTING "+fsyncSettings); err != nil {
			return false, fmt.Errorf("setting fsync_after_insert on %s: %w", t, err)
		}
	}
	return true, nil
}

// quoteIdent quotes a name as a ClickHouse identifier.
func quoteIdent(name string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(name) + "`"
}
