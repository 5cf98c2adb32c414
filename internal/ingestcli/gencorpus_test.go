package ingestcli

import (
	"bytes"
	"strings"
	"testing"
)

// TestGenCorpusDemo runs `ingest gen-corpus --demo` and checks what it
// writes: a demo set ending at --end, the same bytes twice, and a clear
// error for bad flags.
func TestGenCorpusDemo(t *testing.T) {
	run := func(args ...string) (string, string, error) {
		cmd := newGenCorpusCmd()
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetArgs(args)
		err := cmd.Execute()
		return out.String(), errOut.String(), err
	}
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string // empty: must succeed
		// posts is the number of lines written: 2,048 in the 24 full
		// hours (70 steady posts an hour; the two burst streams 5 + 5 an
		// hour, then 10 + 8, 25 + 15 and 60 + 40 in the last three) and
		// 109 in the half hour up to --end.
		posts int
	}{
		{name: "one day", args: []string{"--demo", "--days", "1", "--end", "2026-12-07T05:30:00Z"}, posts: 2157},
		{name: "no days", args: []string{"--demo", "--days", "0"}, wantErr: "--days must be at least 1"},
		{name: "bad end", args: []string{"--demo", "--end", "yesterday"}, wantErr: "--end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := run(tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("gen-corpus %v: error %v, want one saying %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("gen-corpus %v: %v", tc.args, err)
			}
			if n := strings.Count(out, "\n"); n != tc.posts {
				t.Errorf("wrote %d posts, want %d (stderr %q)", n, tc.posts, errOut)
			}
			if !strings.HasPrefix(out, `{"id":"demo:2025:`) || strings.Contains(out, `"created_at":"2026-12-07T05:3`) {
				t.Errorf("want ids demo:SEED:… and nothing after --end; starts %.200s", out)
			}
			if again, _, _ := run(tc.args...); again != out {
				t.Errorf("a second run with the same flags wrote other bytes")
			}
		})
	}
}
