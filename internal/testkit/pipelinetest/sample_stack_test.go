package pipelinetest

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"tagpulse/internal/testkit/stacktest"
)

// sampleTags are the 16 distinct hashtags of the bundled sample article,
// in their display form.
var sampleTags = []string{"NIF2025", "OTAN", "UE", "NATO", "Defense", "Industry", "Innovation",
	"Souveraineté", "Technologie", "IA", "Drones", "Robotics", "Space", "IndustrialBase", "Security", "Réarmement"}

// TestSampleArticleFromFileToPage publishes the bundled article with `ingest
// file`, aggregates with `aggregate run --until-caught-up`, checks `aggregate
// top --json`, then serves the page with `aggregate run` and checks in
// headless Chromium that every tag of the article is listed.
func TestSampleArticleFromFileToPage(t *testing.T) {
	cmd := freshPipeline(t, "e2e")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd.run("ingest", "file", samplePosts(t, stacktest.RepoRoot(t)))
	cmd.run("aggregate", "run", "--until-caught-up", "--http-addr", "")

	var top []struct {
		Tag     string `json:"tag"`
		Display string `json:"display"`
		Count   int    `json:"count"`
	}
	out, _ := cmd.run("aggregate", "top", "--window", "1h", "--limit", "50", "--json")
	if err := json.Unmarshal(out, &top); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, row := range top {
		got[row.Display] = row.Count
	}
	for _, tag := range sampleTags {
		if got[tag] != 1 {
			t.Errorf("top: %s has count %d, want 1 (one post)", tag, got[tag])
		}
	}
	if len(top) != len(sampleTags) {
		t.Errorf("top lists %d tags, want the article's %d: %+v", len(top), len(sampleTags), top)
	}

	addr := stacktest.FreeAddr(t)
	stacktest.Start(t, "aggregate run", filepath.Join(cmd.dir, "aggregate"), cmd.env, "run", "--http-addr", addr)
	stacktest.WaitHTTP(ctx, t, "http://"+addr+"/healthz")

	names := pageTopNames(ctx, t, "http://"+addr+"/")
	listed := map[string]bool{}
	for _, n := range names {
		listed[strings.TrimPrefix(strings.TrimSpace(n), "#")] = true
	}
	for _, tag := range sampleTags {
		if !listed[tag] {
			t.Errorf("the page does not list #%s under Top; it lists %q", tag, names)
		}
	}
}

// pageTopNames loads the page in headless Chromium and returns the names
// of the Top list.
func pageTopNames(ctx context.Context, t *testing.T, url string) []string {
	t.Helper()
	tab, cancelTab := chromedp.NewContext(stacktest.Browser(ctx, t))
	defer cancelTab()
	if err := chromedp.Do(tab, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`#top li .name`))); err != nil {
		t.Fatalf("loading %s in Chromium: %v", url, err)
	}
	names, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#top .name')].map(e => e.textContent)`))
	if err != nil {
		t.Fatalf("reading the Top list: %v", err)
	}
	return names
}
