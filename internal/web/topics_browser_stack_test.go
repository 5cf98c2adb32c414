package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"tagpulse/internal/rollup"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/topic"
)

// TestTopicsPanelInBrowser defines a topic over the story's #NATO and
// #OTAN and loads the page in headless Chromium: the Topics panel lists
// it with its distinct posts, its tags with their own posts (each linking
// to its page) and a sparkline, without console errors; before any topic
// exists the panel says there is none; a tag's page names its topics.
func TestTopicsPanelInBrowser(t *testing.T) {
	ctx, conn, base := storyPage(t)
	browser := stacktest.Browser(ctx, t)

	// load opens the page in a new tab; errs closes the tab and returns
	// the console's errors.
	load := func(t *testing.T) (context.Context, func() []string) {
		t.Helper()
		tab, cancelTab := chromedp.NewContext(browser)
		t.Cleanup(cancelTab)
		collected := stacktest.ConsoleErrors(tab)
		errs := func() []string { cancelTab(); return collected() }
		if err := chromedp.Do(tab, chromedp.Navigate(base+"/")); err != nil {
			t.Fatalf("loading the page in Chromium: %v", err)
		}
		run(t, tab, chromedp.Poll[bool](`document.body.getAttribute('aria-busy') === null && document.getElementById('status').textContent !== 'Loading…'`, chromedp.WithPollingTimeout(30*time.Second)))
		return tab, errs
	}

	t.Run("no topic yet", func(t *testing.T) {
		tab, errs := load(t)
		if shown := run(t, tab, chromedp.Evaluate[bool](`!document.getElementById('topics-empty').hidden`)); !shown {
			t.Error("the Topics panel does not say that no topic has posts")
		}
		for _, e := range errs() {
			t.Errorf("console: %s", e)
		}
	})

	if _, err := topic.NewStore(conn, rollup.MarkTopics).Add(ctx, "alliance", "test", "nato", "otan"); err != nil {
		t.Fatal(err)
	}
	t.Run("a topic", func(t *testing.T) {
		tab, errs := load(t)
		type row struct {
			Name    string   `json:"name"`
			Meta    string   `json:"meta"`
			Members string   `json:"members"`
			Links   []string `json:"links"`
			Spark   bool     `json:"spark"`
		}
		rows := run(t, tab, chromedp.Evaluate[[]row](`[...document.querySelectorAll('#topics li')].map(li => ({
			name: li.querySelector('.name').textContent,
			meta: li.querySelector('.meta').textContent,
			members: li.querySelector('.members').textContent,
			links: [...li.querySelectorAll('.members a')].map(a => new URL(a.href).pathname),
			spark: !!li.querySelector('svg.spark path.spark-line'),
		}))`))
		// In the story's last hour #NATO has 10 posts and #OTAN 2.
		if len(rows) != 1 || rows[0].Name != "alliance" || !strings.HasPrefix(rows[0].Meta, "12 posts") ||
			rows[0].Members != "#nato 10, #otan 2" || strings.Join(rows[0].Links, " ") != "/tags/nato /tags/otan" || !rows[0].Spark {
			t.Errorf("Topics panel rows %+v, want alliance with 12 posts, #nato 10, #otan 2 linking to their pages, and a sparkline", rows)
		}
		shot := run(t, tab, chromedp.FullScreenshot(100))
		path := filepath.Join(stacktest.ArtifactsDir(t), "trends-page-topics.png")
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot saved to %s", path)
		for _, e := range errs() {
			t.Errorf("console: %s", e)
		}
	})

	t.Run("a tag's page names its topics", func(t *testing.T) {
		tab, cancelTab := chromedp.NewContext(browser)
		defer cancelTab()
		err := chromedp.Do(tab, chromedp.Navigate(base+"/tags/otan"), chromedp.WaitVisible(chromedp.CSS(`#topics-note`)))
		if err != nil {
			t.Fatalf("loading the tag page: %v", err)
		}
		if note := run(t, tab, chromedp.Text(chromedp.CSS(`#topics-note`))); note != "In the topic alliance" {
			t.Errorf("the page of #otan says %q, want In the topic alliance", note)
		}
	})
}
