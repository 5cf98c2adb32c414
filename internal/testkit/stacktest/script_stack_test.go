package stacktest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// services are the services scripts/stack runs.
var services = []string{"kafka", "clickhouse", "clickhouse26", "prometheus"}

// TestStackUpIsIdempotent runs scripts/stack up on the running stack and
// checks that it started nothing new: every PID file still names the same
// process, and status reports every service up.
func TestStackUpIsIdempotent(t *testing.T) {
	Require(t)
	root := RepoRoot(t)
	script := filepath.Join(root, "scripts", "stack")
	pids := func() map[string]string {
		out := map[string]string{}
		for _, svc := range services {
			b, err := os.ReadFile(filepath.Join(root, ".stack", svc, svc+".pid"))
			if err != nil {
				t.Fatalf("%s has no PID file: %v; %s", svc, err, hint)
			}
			out[svc] = strings.TrimSpace(string(b))
		}
		return out
	}
	before := pids()
	if out, err := exec.Command(script, "up").CombinedOutput(); err != nil {
		t.Fatalf("scripts/stack up: %v\n%s", err, out)
	}
	after := pids()
	for svc, pid := range before {
		if after[svc] != pid {
			t.Errorf("%s: pid %s before, %s after a second up: it restarted", svc, pid, after[svc])
		}
	}
	out, err := exec.Command(script, "status").CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/stack status: %v\n%s", err, out)
	}
	for _, svc := range services {
		if !strings.Contains(string(out), svc) {
			t.Errorf("status does not mention %s:\n%s", svc, out)
		}
	}
}
