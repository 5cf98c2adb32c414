package deploycheck

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// promtoolPath is where Debian's prometheus package installs promtool;
// scripts/stack up installs that package.
const promtoolPath = "/usr/bin/promtool"

func promtool(t *testing.T, args ...string) string {
	t.Helper()
	bin := promtoolPath
	if _, err := os.Stat(bin); err != nil {
		found, lookErr := exec.LookPath("promtool")
		if lookErr != nil {
			t.Fatalf("promtool not found at %s or on PATH: run scripts/stack up, which installs it (Debian package prometheus)", promtoolPath)
		}
		bin = found
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func TestPromtoolCheckConfig(t *testing.T) {
	promtoolCheckConfig(t, PrometheusConfig)
}

// promtoolCheckConfig runs promtool check config on the Prometheus
// configuration at file (relative to the repository root) and wants every
// rule file of the repository checked with it.
func promtoolCheckConfig(t *testing.T, file string) {
	t.Helper()
	root := repoRoot(t)
	// Check a copy whose rule_files point at the repository's rules by
	// absolute path, so the check does not depend on where it runs.
	raw, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	const relative = "  - rules/*.yml"
	if !bytes.Contains(raw, []byte(relative)) {
		t.Fatalf("%s: rule_files does not list %q", file, strings.TrimSpace(relative))
	}
	abs := "  - " + filepath.Join(root, RulesGlob)
	cfg := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(cfg, bytes.Replace(raw, []byte(relative), []byte(abs), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	out := promtool(t, "check", "config", cfg)
	rules, err := Glob(root, RulesGlob)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rules {
		if !strings.Contains(out, f) {
			t.Errorf("promtool check config did not check rule file %s:\n%s", f, out)
		}
	}
}

func TestPromtoolCheckRules(t *testing.T) {
	root := repoRoot(t)
	files, err := Glob(root, RulesGlob)
	if err != nil {
		t.Fatal(err)
	}
	promtool(t, append([]string{"check", "rules"}, files...)...)
}

func TestPromtoolTestRules(t *testing.T) {
	root := repoRoot(t)
	files, err := Glob(root, RuleTestsGlob)
	if err != nil {
		t.Fatal(err)
	}
	promtool(t, append([]string{"test", "rules"}, files...)...)
}

// Every alert has promtool test cases in which it fires and in which it
// stays silent (an empty exp_alerts).
func TestEveryAlertIsUnitTested(t *testing.T) {
	root := repoRoot(t)
	rules, err := LoadRules(root)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Glob(root, RuleTestsGlob)
	if err != nil {
		t.Fatal(err)
	}
	firing, silent := make(map[string]bool), make(map[string]bool)
	for _, f := range files {
		cases, err := loadRuleTests(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			if len(c.ExpAlerts) > 0 {
				firing[c.AlertName] = true
			} else {
				silent[c.AlertName] = true
			}
		}
	}
	alerts := 0
	for _, r := range rules {
		if r.Alert == "" {
			continue
		}
		alerts++
		if !firing[r.Alert] {
			t.Errorf("alert %s has no promtool test case where it fires", r.Alert)
		}
		if !silent[r.Alert] {
			t.Errorf("alert %s has no promtool test case where it stays silent", r.Alert)
		}
	}
	if alerts == 0 {
		t.Fatal("no alerting rules found")
	}
}

type alertTestCase struct {
	AlertName string           `yaml:"alertname"`
	ExpAlerts []map[string]any `yaml:"exp_alerts"`
}

func loadRuleTests(path string) ([]alertTestCase, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var file struct {
		Tests []struct {
			AlertRuleTest []alertTestCase `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	var cases []alertTestCase
	for _, t := range file.Tests {
		cases = append(cases, t.AlertRuleTest...)
	}
	return cases, nil
}
