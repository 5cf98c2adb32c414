package main

import (
	"os"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		file     string
		wantOK   bool
		wantLast string
		wantHas  string
	}{
		{"two-passes.json", true, "2 passed, 0 failed, 0 skipped", "PASS p"},
		{"failure.json", false, "0 passed, 1 failed, 1 skipped", "got 2, want 3"},
		{"package-failed-then-passed.json", false, "2 passed, 0 failed, 0 skipped", "boom in TestMain"},
		// scripts/test's second pass, on ClickHouse 26.9, labels its
		// packages: the same test counts once per server, and a failure
		// shows the server's version.
		{"two-servers.json", false, "1 passed, 1 failed, 0 skipped", "clickhouse server 26.9.2"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open("testdata/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var out strings.Builder
			ok := summarize(f, &out)
			if ok != tt.wantOK {
				t.Errorf("ok = %v, want %v", ok, tt.wantOK)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if last := lines[len(lines)-1]; last != tt.wantLast {
				t.Errorf("last line %q, want %q", last, tt.wantLast)
			}
			if !strings.Contains(out.String(), tt.wantHas) {
				t.Errorf("output lacks %q:\n%s", tt.wantHas, out.String())
			}
		})
	}
}
