package chstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chstore"
	"tagpulse/internal/testkit/stacktest"
)

// TestMigrateRefusesForeignTablesAndChangesNothing prepares databases that
// hold a table of tagpulse's names but another shape, as a shared
// ClickHouse may, and checks that migrate names every difference, matches
// ErrSchemaConflict, and leaves the database exactly as it found it: no
// schema_migrations, no tag_minute, no views.
func TestMigrateRefusesForeignTablesAndChangesNothing(t *testing.T) {
	tests := []struct {
		name  string
		setup []string
		says  []string
	}{
		{
			name:  "mentions of another application",
			setup: []string{"CREATE TABLE mentions (id UInt64, who String, body String) ENGINE = MergeTree ORDER BY id"},
			says:  []string{"mentions has no column post_id String", "mentions has no column tag String", "nothing was changed"},
		},
		{
			name: "a column of another type, and a table where a view belongs",
			setup: []string{
				"CREATE TABLE mentions (post_id UInt64, tag String, display String, created_at DateTime, source String, lang String, extractor_version UInt16, kafka_partition Int32, kafka_offset Int64, inserted_at DateTime) ENGINE = MergeTree ORDER BY post_id",
				"CREATE TABLE tag_minute_mv (x UInt8) ENGINE = Memory",
			},
			says: []string{"mentions.post_id is UInt64, want String", "tag_minute_mv is a Memory, not a materialized view"},
		},
		{
			name:  "a foreign schema_migrations",
			setup: []string{"CREATE TABLE schema_migrations (id String) ENGINE = Memory"},
			says:  []string{"schema_migrations has no column version UInt32"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, conn := stacktest.ClickHouse(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for _, stmt := range tt.setup {
				if err := conn.Exec(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			before := tableList(ctx, t, conn)

			applied, err := chstore.Migrate(ctx, cfg)
			if err == nil {
				t.Fatalf("migrate succeeded (applied %v) over a foreign schema", applied)
			}
			if !errors.Is(err, chstore.ErrSchemaConflict) {
				t.Errorf("error %v does not match ErrSchemaConflict", err)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if after := tableList(ctx, t, conn); after != before {
				t.Errorf("migrate changed the database: tables %q, before %q", after, before)
			}
		})
	}
}

// tableList names the tables and views of the connection's database.
func tableList(ctx context.Context, t *testing.T, conn driver.Conn) string {
	t.Helper()
	var names string
	if err := conn.QueryRow(ctx, "SELECT arrayStringConcat(groupArray(name), ',') FROM (SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name)").Scan(&names); err != nil {
		t.Fatal(err)
	}
	return names
}
