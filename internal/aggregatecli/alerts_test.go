package aggregatecli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAlertsFlagErrors: a rules file that does not load stops `aggregate
// run` before it connects to anything, and `alerts test` needs a file.
func TestAlertsFlagErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yml")
	if err := os.WriteFile(bad, []byte("rules: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AGGREGATE_ALERTS_FILE", "")
	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"run with a bad file", []string{"run", "--alerts-file", bad}, "invalid alert rules: no rules"},
		{"run with a missing file", []string{"run", "--alerts-file", bad + ".missing"}, "reading alert rules"},
		{"alerts test without a file", []string{"alerts", "test"}, "give the rules file with --alerts-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := New()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(tc.args)
			err := cmd.ExecuteContext(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("err = %v, want one saying %q", err, tc.says)
			}
		})
	}
}
