package aggregatecli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/chstore"
	"tagpulse/internal/testkit/stacktest"
)

// TestTopicsSuggestCommand runs `topics suggest` (not yet registered in
// the root: the topics command will add it) on a database where #otan and
// #nato are written together in 30 posts among 200 posts of #news, #ai
// and #sport written at random.
func TestTopicsSuggestCommand(t *testing.T) {
	cfg, conn := stacktest.MigratedClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	end := time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC)
	var rows []chstore.Mention
	add := func(id, account string, at time.Time, tags ...string) {
		for _, tag := range tags {
			rows = append(rows, chstore.Mention{PostID: id, Account: account, Tag: tag, Display: strings.ToUpper(tag),
				CreatedAt: at, Source: "mastodon", Lang: "fr", ExtractorVersion: 1, InsertedAt: end})
		}
	}
	popular := []string{"news", "ai", "sport"}
	for i := range 200 {
		at := end.Add(-time.Duration(i+1) * time.Hour)
		add(fmt.Sprintf("p%d", i), fmt.Sprintf("a%d", i%17), at, popular[i%3], popular[(i/3)%3])
		if i < 30 {
			add(fmt.Sprintf("q%d", i), fmt.Sprintf("b%d", i%7), at, "nato", "otan", popular[i%3])
		}
		if i < 20 {
			add(fmt.Sprintf("r%d", i), fmt.Sprintf("c%d", i%5), at, "nato")
		}
	}
	if err := chstore.InsertMentions(ctx, conn, rows); err != nil {
		t.Fatalf("inserting: %v", err)
	}
	run := func(t *testing.T, args ...string) (string, string) {
		t.Helper()
		cmd := newTopicsSuggestCmd()
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetArgs(append(args, "--clickhouse-dsn", cfg.DSN, "--at", end.Add(-time.Second).Format(time.RFC3339)))
		if err := cmd.ExecuteContext(ctx); err != nil {
			t.Fatalf("topics suggest %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String(), errOut.String()
	}

	t.Run("table", func(t *testing.T) {
		out, _ := run(t)
		t.Log("\n" + out)
		for _, want := range []string{
			"Pairs of tags in the posts from 2025-10-21 12:00 to 2025-11-20 12:00 UTC",
			"RANK  PAIR", "#nato #otan", "50/30/30", "aggregate topics add nato nato otan",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if lines := strings.Count(out, "\n"); lines != 3 {
			t.Errorf("output has %d lines, want the span, the header and nato/otan:\n%s", lines, out)
		}
	})
	t.Run("json", func(t *testing.T) {
		out, _ := run(t, "--json", "--window", "7d")
		var got []struct {
			A, B        string
			SharedPosts uint64 `json:"shared_posts"`
			Accept      string
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("reading %s: %v", out, err)
		}
		// 7 days hold 168 of the hours: the posts of the first 30 hours all.
		if len(got) != 1 || got[0].A != "nato" || got[0].B != "otan" || got[0].SharedPosts != 30 || got[0].Accept != "aggregate topics add nato nato otan" {
			t.Errorf("--json = %+v, want nato/otan, 30 shared posts, with its command", got)
		}
	})
	t.Run("sample", func(t *testing.T) {
		out, _ := run(t, "--sample-rows", "400", "--min-shared", "5")
		if !strings.Contains(out, "from a sample of ") || !strings.Contains(out, "counts are estimates") {
			t.Errorf("output with --sample-rows 400 (of %d rows) does not say it is a sample:\n%s", len(rows), out)
		}
	})
	t.Run("none above the support", func(t *testing.T) {
		out, errOut := run(t, "--min-shared", "31")
		if out != "" || !strings.Contains(errOut, "no pair of tags shares at least 31 posts or accounts") {
			t.Errorf("out = %q, err = %q, want a note on stderr only", out, errOut)
		}
	})
	t.Run("bad flags", func(t *testing.T) {
		for _, args := range [][]string{{"--window", "200d"}, {"--limit", "0"}, {"--min-lift", "0.5"}, {"--window", "soon"}, {"--sample-rows", "0"}} {
			cmd := newTopicsSuggestCmd()
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			cmd.SetArgs(append(args, "--clickhouse-dsn", cfg.DSN))
			if err := cmd.ExecuteContext(ctx); err == nil {
				t.Errorf("topics suggest %s: no error", strings.Join(args, " "))
			}
		}
	})
}
