package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/trend"
	"tagpulse/internal/trend/trendtest"
)

// TestPageDegradesPerCard loads the page in Chromium over data holding a
// tag longer than the API accepts (stored before tags had a bound, say):
// its series call fails with 400, and only its own card says so; the other
// cards keep their sparklines and the page its lists. Before, the whole
// page showed "Could not load trends".
func TestPageDegradesPerCard(t *testing.T) {
	_, conn := stacktest.MigratedClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	now := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	story := trendtest.NewStory(now.Truncate(time.Minute).Add(time.Minute))
	long := strings.Repeat("x", trend.MaxTagBytes+44)
	legacy := trendtest.Hourly(long, long, story.End, []int{30}, "file", "fr")
	trendtest.Insert(t, conn, append(story.Mentions, legacy...))

	base := servePage(t, conn, now)

	browser := stacktest.Browser(ctx, t)
	tab, cancelTab := chromedp.NewContext(browser)
	defer cancelTab()
	if err := chromedp.Do(tab, chromedp.Navigate(base+"/")); err != nil {
		t.Fatalf("loading the page in Chromium: %v", err)
	}
	// The script marks the page busy from DOMContentLoaded until its load
	// has settled (the per-tag calls follow the failed one).
	run(t, tab, chromedp.Poll[bool](`document.body.getAttribute('aria-busy') === null && document.getElementById('status').textContent !== 'Loading…'`, chromedp.WithPollingTimeout(30*time.Second)))
	status := run(t, tab, chromedp.Text(chromedp.CSS(`#status`)))
	type card struct {
		Name  string `json:"name"`
		Spark string `json:"spark"`
	}
	cards := run(t, tab, chromedp.Evaluate[[]card](`[...document.querySelectorAll('#top li')].map(li => ({
		name: li.querySelector('.name').textContent,
		spark: li.querySelector('.spark-error') ? 'error' : (li.querySelector('svg.spark path.spark-line') ? 'line' : 'none'),
	}))`))
	if !strings.HasPrefix(status, "Updated") {
		t.Errorf("status %q, want Updated …: one tag's history must not fail the page", status)
	}
	var errs, lines []string
	for _, c := range cards {
		switch {
		case c.Spark == "error":
			errs = append(errs, c.Name)
		case c.Spark == "line":
			lines = append(lines, c.Name)
		}
	}
	if len(errs) != 1 || errs[0] != "#"+long {
		t.Errorf("cards showing an error: %v, want only the long tag's", errs)
	}
	if got := strings.Join(lines, ","); got != "#NIF2025,#NATO,#OTAN" {
		t.Errorf("cards with a sparkline: %s, want #NIF2025,#NATO,#OTAN", got)
	}
	for _, id := range []string{"top-error", "trending-error"} {
		if hidden := run(t, tab, chromedp.Evaluate[bool](fmt.Sprintf(`document.getElementById(%q).hidden`, id))); !hidden {
			t.Errorf("#%s shown; only the card should say something failed", id)
		}
	}
}
