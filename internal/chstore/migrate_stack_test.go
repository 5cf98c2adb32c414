package chstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"tagpulse/internal/chstore"
	"tagpulse/internal/testkit/stacktest"
)

func TestSplitStatementsOfEveryMigration(t *testing.T) {
	ms, err := chstore.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("want migrations starting at version 1, got %+v", ms)
	}
	for _, m := range ms {
		if len(m.Statements) == 0 && m.Step == nil {
			t.Errorf("migration %s has neither statements nor a step", m.Name)
		}
		for _, s := range m.Statements {
			if len(s) < 10 {
				t.Errorf("migration %s: suspicious statement %q", m.Name, s)
			}
		}
	}
}

// TestMigrateTwiceAndConcurrently runs the migrations from two replicas at
// once and then again, and checks the buckets count distinct posts however
// often a post is inserted.
func TestMigrateTwiceAndConcurrently(t *testing.T) {
	t.Parallel()
	cfg, conn := stacktest.ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = chstore.Migrate(ctx, cfg)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	applied, err := chstore.Migrate(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Fatalf("third run applied %v, want nothing", applied)
	}

	at := time.Date(2025, 11, 5, 9, 30, 15, 0, time.UTC)
	for round := 0; round < 3; round++ { // the same posts, three times
		var rows []chstore.Mention
		for _, p := range []struct{ id, tag, display string }{
			{"p1", "rearmement", "Réarmement"}, {"p2", "rearmement", "réarmement"}, {"p3", "rearmement", "Réarmement"}, {"p1", "otan", "OTAN"},
		} {
			rows = append(rows, chstore.Mention{PostID: p.id, Tag: p.tag, Display: p.display, CreatedAt: at,
				Source: "file", Lang: "fr", ExtractorVersion: 1, KafkaOffset: int64(round), InsertedAt: time.Now().UTC()})
		}
		if err := chstore.InsertMentions(ctx, conn, rows); err != nil {
			t.Fatal(err)
		}
	}
	got := stacktest.TagTotals(t, conn)
	if got["rearmement"] != 3 || got["otan"] != 1 || len(got) != 2 {
		t.Fatalf("bucket counts %v, want rearmement=3 otan=1", got)
	}
	// TagTotals rolled the day up: its spellings are in tag_display_day.
	var display string
	if err := conn.QueryRow(ctx, `SELECT argMax(display, n) FROM (SELECT display, sum(posts) AS n FROM tag_display_day WHERE tag = ? GROUP BY display)`, "rearmement").Scan(&display); err != nil {
		t.Fatal(err)
	}
	if display != "Réarmement" {
		t.Fatalf("display %q, want the spelling most posts used, Réarmement", display)
	}
}

func TestOptionsDialTimeout(t *testing.T) {
	tests := []struct {
		dsn  string
		want time.Duration
	}{
		{chstore.DefaultDSN, chstore.DefaultDialTimeout},
		{"clickhouse://default:@127.0.0.1:9000/db?dial_timeout=2s", 2 * time.Second},
	}
	for _, tt := range tests {
		opts, err := (&chstore.Config{DSN: tt.dsn}).Options()
		if err != nil {
			t.Fatal(err)
		}
		if opts.DialTimeout != tt.want {
			t.Errorf("%s: dial timeout %v, want %v", tt.dsn, opts.DialTimeout, tt.want)
		}
	}
}

func TestOptionsRejectsBadDatabaseWithoutShowingTheDSN(t *testing.T) {
	_, err := (&chstore.Config{DSN: "clickhouse://u:s3cret@127.0.0.1:9000/bad-name"}).Options()
	if err == nil {
		t.Fatal("want an error for the database name bad-name")
	}
	_, err = (&chstore.Config{DSN: "clickhouse://u:s3cret@[::1"}).Options()
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v must exist and not show the password", err)
	}
}
