package chstore

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one numbered schema step. Every statement in it is
// idempotent (IF NOT EXISTS), so two replicas migrating at once, or a
// migration interrupted half way and run again, end in the same schema.
type Migration struct {
	Version    int
	Name       string
	Statements []string
	// Step, when set, runs after the statements: the part of a migration
	// SQL alone cannot do (copying a table into a new order, with
	// progress). It must be resumable: an interrupted step runs again.
	Step func(ctx context.Context, conn driver.Conn, database string, progress io.Writer) error
}

// steps are the Go steps of the migrations that have one, by version.
var steps = map[int]func(ctx context.Context, conn driver.Conn, database string, progress io.Writer) error{
	4: upgradeMentions,
	7: addBotColumn,
	9: regranulateRollups,
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("reading embedded migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s: name must start with a number and _", name)
		}
		body, err := migrationFiles.ReadFile("migrations/" + name)
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: strings.TrimSuffix(name, ".sql"), Statements: splitStatements(string(body)), Step: steps[v]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// splitStatements splits SQL on semicolons at line ends, dropping comments.
func splitStatements(sql string) []string {
	var stmts []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			stmts = append(stmts, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		stmts = append(stmts, s)
	}
	return stmts
}

// Migrate creates the database named in the DSN when it is missing, then
// applies every migration not yet recorded in schema_migrations. It returns
// the versions it applied.
func Migrate(ctx context.Context, cfg Config) ([]int, error) {
	return MigrateProgress(ctx, cfg, io.Discard)
}

// MigrateProgress is Migrate, writing the progress of long steps (the
// upgrade of a v1 database copies every day of mentions) to progress.
func MigrateProgress(ctx context.Context, cfg Config, progress io.Writer) ([]int, error) {
	return MigrateTo(ctx, cfg, progress, 0)
}

// MigrateTo is MigrateProgress applying the migrations up to version upTo
// only (0: all of them). The read benchmark and the upgrade test build a
// schema v1 database with it (upTo 3); operators use Migrate.
func MigrateTo(ctx context.Context, cfg Config, progress io.Writer, upTo int) ([]int, error) {
	opts, err := cfg.Options()
	if err != nil {
		return nil, err
	}
	database := opts.Auth.Database
	bootstrap := *opts
	bootstrap.Auth.Database = "default"
	admin, err := openOptions(ctx, &bootstrap)
	if err != nil {
		return nil, err
	}
	// The name is checked against identifier in Options, so quoting it
	// with backquotes is safe; DDL cannot take a bound parameter here.
	err = admin.Exec(ctx, "CREATE DATABASE IF NOT EXISTS `"+database+"`")
	admin.Close()
	if err != nil {
		return nil, fmt.Errorf("creating database %s: %w", database, err)
	}

	conn, err := openOptions(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return migrateConn(ctx, conn, database, progress, upTo)
}

// appliedVersions reads schema_migrations; none are applied while it does
// not exist.
func appliedVersions(ctx context.Context, conn driver.Conn, database string) (map[int]bool, error) {
	var exists uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = 'schema_migrations'", database).Scan(&exists); err != nil {
		return nil, fmt.Errorf("looking for schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	if exists == 0 {
		return applied, nil
	}
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("reading schema_migrations: %w", err)
		}
		applied[int(v)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	return applied, nil
}

// createSchemaMigrations makes the table that records applied migrations.
const createSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    UInt32,
    name       String,
    applied_at DateTime
) ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`

func migrateConn(ctx context.Context, conn driver.Conn, database string, progress io.Writer, upTo int) ([]int, error) {
	migrations, err := Migrations()
	if err != nil {
		return nil, err
	}
	for i, m := range migrations {
		if upTo > 0 && m.Version > upTo {
			migrations = migrations[:i]
			break
		}
	}
	// Before anything is created, schema_migrations and the tables of every
	// migration not yet applied must be absent or of the expected shape.
	if err := checkExisting(ctx, conn, database, []string{createSchemaMigrations}); err != nil {
		return nil, err
	}
	applied, err := appliedVersions(ctx, conn, database)
	if err != nil {
		return nil, err
	}
	var check []string
	for _, m := range migrations {
		if !applied[m.Version] {
			check = append(check, m.Statements...)
		}
	}
	if err := checkExisting(ctx, conn, database, check); err != nil {
		return nil, err
	}
	if err := conn.Exec(ctx, createSchemaMigrations); err != nil {
		return nil, fmt.Errorf("creating schema_migrations: %w", err)
	}
	if applied, err = appliedVersions(ctx, conn, database); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	var done []int
	for _, m := range migrations {
		if applied[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			if err := conn.Exec(ctx, stmt); err != nil {
				return done, fmt.Errorf("migration %s, statement %d: %w", m.Name, i+1, err)
			}
		}
		if m.Step != nil {
			if err := m.Step(ctx, conn, database, progress); err != nil {
				return done, fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		if err := recordMigration(ctx, conn, m); err != nil {
			return done, fmt.Errorf("recording migration %s: %w", m.Name, err)
		}
		done = append(done, m.Version)
	}
	return done, nil
}

// recordMigration inserts the migration's row. It uses a batch because
// ClickHouse 18.16 does not take INSERT … VALUES with bound values through
// Exec over the native protocol.
func recordMigration(ctx context.Context, conn driver.Conn, m Migration) error {
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, applied_at)")
	if err != nil {
		return err
	}
	if err := batch.Append(uint32(m.Version), m.Name, time.Now().UTC()); err != nil {
		return err
	}
	return batch.Send()
}
