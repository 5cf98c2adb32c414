package stacktest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
	buildOut  []byte
)

// Binaries builds cmd/ingest and cmd/aggregate once per test process and
// returns the folder holding them, for tests that run the real programs.
func Binaries(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "tagpulse-bin-")
		if buildErr != nil {
			return
		}
		buildOut, buildErr = Build(context.Background(), root, buildDir)
	})
	if buildErr != nil {
		t.Fatalf("building the binaries: %v\n%s", buildErr, buildOut)
	}
	return buildDir
}

// Build compiles cmd/ingest and cmd/aggregate of the checkout at src into
// the folder out and returns the compiler's output: the one way tests and
// benchmarks build the programs they run.
func Build(ctx context.Context, src, out string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out+string(filepath.Separator), "./cmd/ingest", "./cmd/aggregate")
	cmd.Dir = src
	return cmd.CombinedOutput()
}
