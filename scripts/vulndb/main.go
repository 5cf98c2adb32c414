// Command vulndb turns the OSV reports of the golang.org/x/vulndb module
// (data/osv/*.json, served by the Go module proxy) into the file layout
// that `govulncheck -db file://DIR` reads: index/db.json,
// index/modules.json and ID/<id>.json. It lets `make test` run govulncheck
// on a machine that reaches only package registries, not vuln.go.dev.
//
// The module index lists every report of a module without a "fixed"
// version, which makes govulncheck fetch and check each of them itself:
// slower by a few milliseconds, never less precise.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

type osvEntry struct {
	ID       string `json:"id"`
	Modified string `json:"modified"`
	Affected []struct {
		Package struct {
			Name      string `json:"name"`
			Ecosystem string `json:"ecosystem"`
		} `json:"package"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string `json:"id"`
	Modified string `json:"modified"`
}

type moduleEntry struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

func main() {
	src := flag.String("osv", "", "folder of OSV JSON reports (data/osv of golang.org/x/vulndb)")
	out := flag.String("out", "", "folder to write the database to")
	flag.Parse()
	if *src == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: vulndb -osv DIR -out DIR")
		os.Exit(2)
	}
	if err := build(*src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
}

func build(src, out string) error {
	files, err := filepath.Glob(filepath.Join(src, "*.json"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no OSV reports in %s", src)
	}
	for _, dir := range []string{"index", "ID"} {
		if err := os.MkdirAll(filepath.Join(out, dir), 0o755); err != nil {
			return err
		}
	}
	modules := map[string][]moduleVuln{}
	latest := time.Time{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var e osvEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("parsing %s: %w", f, err)
		}
		if e.ID == "" {
			return fmt.Errorf("%s has no id", f)
		}
		if t, err := time.Parse(time.RFC3339, e.Modified); err == nil && t.After(latest) {
			latest = t
		}
		seen := map[string]bool{}
		for _, a := range e.Affected {
			if a.Package.Ecosystem != "Go" || seen[a.Package.Name] {
				continue
			}
			seen[a.Package.Name] = true
			modules[a.Package.Name] = append(modules[a.Package.Name], moduleVuln{ID: e.ID, Modified: e.Modified})
		}
		if err := os.WriteFile(filepath.Join(out, "ID", e.ID+".json"), raw, 0o644); err != nil {
			return err
		}
	}
	index := make([]moduleEntry, 0, len(modules))
	for path, vulns := range modules {
		index = append(index, moduleEntry{Path: path, Vulns: vulns})
	}
	sort.Slice(index, func(i, j int) bool { return index[i].Path < index[j].Path })
	if err := writeJSON(filepath.Join(out, "index", "modules.json"), index); err != nil {
		return err
	}
	return writeJSON(filepath.Join(out, "index", "db.json"), map[string]string{"modified": latest.UTC().Format(time.RFC3339)})
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
