package deploycheck

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"tagpulse/internal/testkit/stacktest"
)

// TestLocalPrometheusLoadsTheRules checks that the local stack's Prometheus
// evaluates the same rule files that ship in deploy/compose, and scrapes
// the ingest and aggregate jobs.
func TestLocalPrometheusLoadsTheRules(t *testing.T) {
	promURL := stacktest.Prometheus(t)
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	rules, err := LoadRules(root)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second}

	var loaded struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name string `json:"name"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	getJSON(t, client, promURL+"/api/v1/rules", &loaded)
	have := map[string]bool{}
	for _, g := range loaded.Data.Groups {
		for _, r := range g.Rules {
			have[r.Name] = true
		}
	}
	for _, r := range rules {
		name := r.Alert + r.Record
		if !have[name] {
			t.Errorf("rule %s (%s) is not loaded by the local Prometheus; run scripts/stack up, which reloads it", name, r.File)
		}
	}

	var targets struct {
		Data struct {
			ActiveTargets []struct {
				Labels map[string]string `json:"labels"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	getJSON(t, client, promURL+"/api/v1/targets", &targets)
	jobs := map[string]bool{}
	for _, tg := range targets.Data.ActiveTargets {
		jobs[tg.Labels["job"]] = true
	}
	for _, job := range []string{"ingest", "aggregate"} {
		if !jobs[job] {
			t.Errorf("the local Prometheus has no %s job: got %v", job, jobs)
		}
	}
}

func getJSON(t *testing.T, client *http.Client, url string, v any) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decoding %s: %v", url, err)
	}
}
