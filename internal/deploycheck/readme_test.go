package deploycheck

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"tagpulse/internal/aggregatecli"
	"tagpulse/internal/ingestcli"
)

var envInUsage = regexp.MustCompile(`\(env ([A-Z0-9_]+)`)

// TestREADMEDocumentsEveryVariable walks every subcommand of ingest and
// aggregate and checks that each environment variable a flag reads is in
// the README's configuration table, so the docs cannot fall behind the
// code.
func TestREADMEDocumentsEveryVariable(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		visit := func(f *pflag.Flag) {
			for _, m := range envInUsage.FindAllStringSubmatch(f.Usage, -1) {
				vars[m[1]] = c.CommandPath() + " --" + f.Name
			}
		}
		c.Flags().VisitAll(visit)
		c.PersistentFlags().VisitAll(visit)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(ingestcli.New())
	walk(aggregatecli.New())
	if len(vars) < 10 {
		t.Fatalf("found only %d environment variables in the flags' help; the pattern is wrong", len(vars))
	}
	var missing []string
	for v, flag := range vars {
		if !strings.Contains(string(readme), "`"+v+"`") {
			missing = append(missing, v+" ("+flag+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("README.md does not document:\n  %s", strings.Join(missing, "\n  "))
	}
}
