package aggregatecli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/chstore"
	"tagpulse/internal/stacktest"
	"tagpulse/internal/trend"
	"tagpulse/internal/trend/trendtest"
)

// TestTrendCommands runs top, trending and series against a test database
// holding the trendtest story, as of a fixed time.
func TestTrendCommands(t *testing.T) {
	cfg, conn := stacktest.ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := chstore.Migrate(ctx, cfg); err != nil {
		t.Fatalf("migrating: %v", err)
	}
	end := time.Date(2025, 11, 20, 14, 38, 0, 0, time.UTC)
	trendtest.Insert(t, conn, trendtest.NewStory(end).Mentions)
	at := end.Add(-time.Second).Format(time.RFC3339)

	run := func(t *testing.T, args ...string) string {
		t.Helper()
		cmd := New()
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetArgs(append(args, "--clickhouse-dsn", cfg.DSN, "--at", at))
		if err := cmd.ExecuteContext(ctx); err != nil {
			t.Fatalf("aggregate %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}

	t.Run("top json", func(t *testing.T) {
		var got []map[string]any
		if err := json.Unmarshal([]byte(run(t, "top", "--window", "1h", "--limit", "2", "--json")), &got); err != nil {
			t.Fatal(err)
		}
		want := []map[string]any{
			{"tag": "nif2025", "display": "NIF2025", "count": 40.0},
			{"tag": "nato", "display": "NATO", "count": 10.0},
		}
		if len(got) != len(want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		for i := range want {
			for k, v := range want[i] {
				if got[i][k] != v {
					t.Errorf("#%d %s = %v, want %v", i, k, got[i][k], v)
				}
			}
		}
	})
	t.Run("top table", func(t *testing.T) {
		got := run(t, "top", "--window", "1d", "--lang", "fr")
		want := "RANK  TAG       COUNT\n" +
			"1     #NIF2025  63\n" +
			"2     #OTAN     48\n"
		if got != want {
			t.Errorf("table:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("trending json", func(t *testing.T) {
		var got []trend.Trend
		if err := json.Unmarshal([]byte(run(t, "trending", "--window", "1h", "--json")), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Tag != "nif2025" || got[0].Count != 40 || got[0].Expected != 1 || got[0].Score != 39 {
			t.Errorf("trending = %+v, want only nif2025 with 40 posts, expected 1, score 39", got)
		}
	})
	t.Run("trending table", func(t *testing.T) {
		got := run(t, "trending", "--window", "1h")
		if !strings.HasPrefix(got, "RANK  TAG       COUNT  EXPECTED  SCORE\n1     #NIF2025  40     1.0       39.0\n") {
			t.Errorf("table:\n%s", got)
		}
	})
	t.Run("series table", func(t *testing.T) {
		got := run(t, "series", "--tag", "nato", "--tag", "#otan", "--window", "3h", "--step", "1h")
		want := "TIME (UTC)        #NATO  #OTAN\n" +
			"2025-11-20 11:38  10     2\n" +
			"2025-11-20 12:38  10     2\n" +
			"2025-11-20 13:38  10     2\n"
		if got != want {
			t.Errorf("table:\n%s\nwant:\n%s", got, want)
		}
	})
}

func TestTrendCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"top", "--window", "100d"}, "window must be between 1m and 90d"},
		{[]string{"top", "--window", "soon"}, "--window"},
		{[]string{"top", "--limit", "0"}, "limit must be between 1 and 1000"},
		{[]string{"trending", "--at", "yesterday"}, "--at"},
		{[]string{"series", "--window", "1h"}, "at least one --tag"},
		{[]string{"series", "--tag", "a", "--window", "1h", "--step", "7m"}, "whole number of steps"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := New()
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			// An unreachable port: these errors must come before any query.
			cmd.SetArgs(append(tc.args, "--clickhouse-dsn", "clickhouse://default:@127.0.0.1:1/db"))
			err := cmd.ExecuteContext(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
