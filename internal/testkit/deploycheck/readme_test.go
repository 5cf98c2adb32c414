package deploycheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tagpulse/internal/aggregatecli"
	"tagpulse/internal/command"
	"tagpulse/internal/ingestcli"
)

// The README's configuration tables lie between these lines.
const (
	configBegin = "<!-- BEGIN configuration tables: generated from the flags; cd internal/testkit/deploycheck && TAGPULSE_UPDATE_README=1 go test -run TestREADMEConfiguration . rewrites them -->\n"
	configEnd   = "<!-- END configuration tables -->\n"
)

// TestREADMEConfigurationIsTheFlags renders the configuration tables from
// the flags of every subcommand of ingest and aggregate (variable, flag,
// built-in default, commands, help) and checks that the README holds
// exactly them, so no value there can differ from --help. With
// TAGPULSE_UPDATE_README=1 it writes them into the README instead.
func TestREADMEConfigurationIsTheFlags(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := command.ConfigTables(ingestcli.New(), aggregatecli.New())
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := strings.Cut(string(readme), configBegin)
	got, after, ok2 := strings.Cut(rest, configEnd)
	if !ok || !ok2 {
		t.Fatalf("README.md has no section between %q and %q", configBegin, configEnd)
	}
	if got == want {
		return
	}
	if os.Getenv("TAGPULSE_UPDATE_README") == "1" {
		if err := os.WriteFile(path, []byte(before+configBegin+want+configEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("README.md's configuration tables rewritten from the flags")
		return
	}
	gotLines, wantLines := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(gotLines), len(wantLines)); i++ {
		var g, w string
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			t.Fatalf("README.md's configuration tables differ from the flags at line %d of the section:\nREADME: %s\nflags:  %s\n(cd internal/testkit/deploycheck && TAGPULSE_UPDATE_README=1 go test -run TestREADMEConfiguration . rewrites them)", i+1, g, w)
		}
	}
}
