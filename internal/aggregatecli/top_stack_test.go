package aggregatecli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/chstore"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/trend"
	"tagpulse/internal/trend/trendtest"
)

// storyCLI gives a test a migrated database holding the trendtest story
// and a function that runs aggregate on it (the DSN appended), failing the
// test on error; at is a time in the story's last minute.
func storyCLI(t *testing.T) (run func(t *testing.T, args ...string) string, at string) {
	cfg, conn := stacktest.ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	if _, err := chstore.Migrate(ctx, cfg); err != nil {
		t.Fatalf("migrating: %v", err)
	}
	end := time.Date(2025, 11, 20, 14, 38, 0, 0, time.UTC)
	trendtest.Insert(t, conn, trendtest.NewStory(end).Mentions)
	at = end.Add(-time.Second).Format(time.RFC3339)
	return func(t *testing.T, args ...string) string {
		t.Helper()
		cmd := New()
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetArgs(append(args, "--clickhouse-dsn", cfg.DSN))
		if err := cmd.ExecuteContext(ctx); err != nil {
			t.Fatalf("aggregate %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}, at
}

// TestTrendCommands runs top, trending and series against a test database
// holding the trendtest story, as of a fixed time.
func TestTrendCommands(t *testing.T) {
	runDSN, at := storyCLI(t)
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		return runDSN(t, append(args, "--at", at)...)
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
		want := "Posts from 2025-11-19 14:38 to 2025-11-20 14:38 UTC (start included, end excluded)\n" +
			"RANK  TAG       COUNT  ACCOUNTS\n" +
			"1     #NIF2025  63     63\n" +
			"2     #OTAN     48     48\n"
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
		if !strings.HasPrefix(got, "Posts from 2025-11-20 13:38 to 2025-11-20 14:38 UTC (start included, end excluded)\nRANK  TAG       COUNT  ACCOUNTS  EXPECTED ACCOUNTS  SCORE\n1     #NIF2025  40     40        1.0                39.0\n") {
			t.Errorf("table:\n%s", got)
		}
	})
	t.Run("csv", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"top", "--window", "1d", "--lang", "fr", "--csv"}, "rank,tag,display,count,accounts\n1,nif2025,NIF2025,63,63\n2,otan,OTAN,48,48\n"},
			{[]string{"trending", "--window", "1h", "--csv"}, "rank,tag,display,count,accounts,by,expected,score,history_windows,enough_history,top_account_share,top_instance_share,concentrated,bot_posts\n1,nif2025,NIF2025,40,40,accounts,1,39,24,true,0.025,0,false,0\n"},
			{[]string{"trending", "--window", "1h", "--by", "posts", "--csv"}, "rank,tag,display,count,accounts,by,expected,score,history_windows,enough_history,top_account_share,top_instance_share,concentrated,bot_posts\n1,nif2025,NIF2025,40,40,posts,1,39,24,true,0.025,0,false,0\n"},
			{[]string{"series", "--tag", "otan", "--window", "2h", "--step", "1h", "--csv"}, "tag,display,hidden,time,end,count,accounts\n" +
				"otan,OTAN,false,2025-11-20T13:00:00Z,2025-11-20T14:00:00Z,2,2\notan,OTAN,false,2025-11-20T14:00:00Z,2025-11-20T15:00:00Z,1,1\n"},
		} {
			if got := run(t, c.args...); got != c.want {
				t.Errorf("aggregate %s:\n%s\nwant:\n%s", strings.Join(c.args, " "), got, c.want)
			}
		}
	})
	t.Run("series table", func(t *testing.T) {
		got := run(t, "series", "--tag", "nato", "--tag", "#otan", "--window", "3h", "--step", "1h")
		// Steps are whole hours; the last one holds --at (14:37:59) and
		// is not over.
		want := "Steps of 1h from 2025-11-20 12:00 to 2025-11-20 15:00 UTC (start included, end excluded)\n" +
			"STEP START (UTC)  #NATO  #OTAN\n" +
			"2025-11-20 12:00  10     2\n" +
			"2025-11-20 13:00  10     2\n" +
			"2025-11-20 14:00  6      1\n"
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
		{[]string{"top", "--json", "--csv"}, "[json csv]"},
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

// runTrendCmd runs one trend command as of at against dsn and returns its
// stdout, stderr and error.
func runTrendCmd(ctx context.Context, dsn string, at time.Time, args ...string) (string, string, error) {
	cmd := New()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append(args, "--clickhouse-dsn", dsn, "--at", at.Format(time.RFC3339)))
	err := cmd.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// Empty answers say why: no database, no posts yet, none in the window
// (and when the stored ones are), a filter value no post has (an error
// naming the known ones), and a trending list without enough history.
func TestTrendCommandsExplainEmptyAnswers(t *testing.T) {
	cfg, conn := stacktest.ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	end := time.Date(2025, 11, 20, 14, 38, 0, 0, time.UTC)
	at := end.Add(-time.Second)

	t.Run("no database", func(t *testing.T) {
		dsn := strings.Replace(cfg.DSN, "/test", "/missing_test", 1)
		_, _, err := runTrendCmd(ctx, dsn, at, "top")
		if !errors.Is(err, trend.ErrNoSchema) || !strings.Contains(err.Error(), "run `aggregate migrate`") {
			t.Fatalf("top without a database: %v, want it to say to run aggregate migrate", err)
		}
	})
	t.Run("no tables", func(t *testing.T) {
		_, _, err := runTrendCmd(ctx, cfg.DSN, at, "trending")
		if !errors.Is(err, trend.ErrNoSchema) {
			t.Fatalf("trending before migrate: %v, want ErrNoSchema", err)
		}
	})
	if _, err := chstore.Migrate(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	t.Run("no posts yet", func(t *testing.T) {
		out, errOut, err := runTrendCmd(ctx, cfg.DSN, at, "top")
		if err != nil || !strings.Contains(errOut, "no posts are stored yet: load some with `ingest file PATH`") || !strings.HasSuffix(out, "RANK  TAG  COUNT  ACCOUNTS\n") {
			t.Fatalf("top on an empty database: err %v, stdout %q, stderr %q", err, out, errOut)
		}
	})

	// A fresh import: the last 90 minutes of the story only.
	trendtest.Insert(t, conn, trendtest.Since(trendtest.NewStory(end).Mentions, end.Add(-90*time.Minute)))

	for _, tc := range []struct {
		name    string
		args    []string
		at      time.Time
		wantErr string
		stderr  string
	}{
		{"window before the posts", []string{"top", "--window", "1h"}, at.Add(-3 * time.Hour), "",
			"no posts from 2025-11-20 10:38 to 2025-11-20 11:38 UTC; the stored posts run from 2025-11-20 13:08 to 2025-11-20 14:37 UTC"},
		{"unknown source", []string{"top", "--source", "file-1"}, at,
			`top: no posts have source "file-1"; the posts stored have source "file", "rss"`, ""},
		{"unknown lang", []string{"trending", "--lang", "de"}, at,
			`trending: no posts have lang "de"; the posts stored have lang "en", "fr"`, ""},
		{"series of a known source outside the window", []string{"series", "--tag", "nato", "--source", "rss", "--window", "1h", "--step", "1h"}, end.Add(-5 * time.Hour), "",
			"no posts matching the filters from 2025-11-20 09:00 to 2025-11-20 10:00 UTC"},
		{"nothing trending in a window with posts", []string{"trending", "--window", "2m"}, at, "",
			"no tag is trending from 2025-11-20 14:36 to 2025-11-20 14:38 UTC: of 1 posts with hashtags, no tag has 5 or more with a score above 1\n"},
		{"series of tags without posts", []string{"series", "--tag", "unknown", "--window", "1h", "--step", "1h"}, at, "",
			"none of these tags is in the 32 posts with hashtags from 2025-11-20 14:00 to 2025-11-20 15:00 UTC"},
		{"trending without history", []string{"trending"}, at, "",
			"not enough history yet: the stored posts cover 0 of the 24 windows of 1h before 2025-11-20 13:00 UTC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := runTrendCmd(ctx, cfg.DSN, tc.at, tc.args...)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || out != "" {
					t.Fatalf("error %v, stdout %q; want %q and no table", err, out, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr %q, want it to contain %q (stdout %q)", errOut, tc.stderr, out)
			}
		})
	}
	t.Run("trending json says so", func(t *testing.T) {
		out, _, err := runTrendCmd(ctx, cfg.DSN, at, "trending", "--json")
		if err != nil {
			t.Fatal(err)
		}
		var got []map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || got[0]["enough_history"] != false || got[0]["history_windows"] != 0.0 {
			t.Errorf("trending --json = %v, want enough_history false and history_windows 0", got)
		}
	})
}
