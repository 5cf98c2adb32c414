package faulttest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Paths of the binaries under test, built once by TestMain.
var (
	ingestBin    string
	aggregateBin string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("TAGPULSE_SKIP_INTEGRATION") == "1" {
		// Every test here needs the stack; stacktest.Require skips them.
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "tagpulse-faulttest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faulttest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, b := range []struct {
		dst *string
		pkg string
	}{{&ingestBin, "tagpulse/cmd/ingest"}, {&aggregateBin, "tagpulse/cmd/aggregate"}} {
		*b.dst = filepath.Join(dir, filepath.Base(b.pkg))
		out, err := exec.Command("go", "build", "-o", *b.dst, b.pkg).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "faulttest: building %s: %v\n%s", b.pkg, err, out)
			return 1
		}
	}
	return m.Run()
}
