package stacktest

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// stackUse finds a call that reaches the real local stack.
var stackUse = regexp.MustCompile(`\bstacktest\.(Kafka|ClickHouse|MigratedClickHouse|Prometheus|Browser|Binaries|Require|RequireFault)\(`)

// TestStackTestsAreNamed holds the naming rule of docs/design.md: a test
// file that uses the real stack ends in _stack_test.go, so a file without
// that suffix needs no service.
func TestStackTestsAreNamed(t *testing.T) {
	root := RepoRoot(t)
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, "_stack_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		if m := stackUse.Find(b); m != nil {
			rel, _ := filepath.Rel(root, path)
			t.Errorf("%s calls %s: a test file that uses the real stack must be named *_stack_test.go", rel, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no test file checked; the walk is wrong")
	}
}
