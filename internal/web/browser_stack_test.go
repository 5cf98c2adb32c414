package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/chromedp/chromedp"

	"tagpulse/internal/rollup"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/topic"
	"tagpulse/internal/trend"
	"tagpulse/internal/trend/trendtest"
)

// TestPageInBrowser loads the page in headless Chromium against the
// handler serving real ClickHouse data (the trendtest story), checks that
// the bursting tag is listed first under Trending, that the steady giant
// leads nothing there but is in Top, and saves screenshots on a laptop and
// a phone viewport.
func TestPageInBrowser(t *testing.T) {
	_, conn := stacktest.MigratedClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	now := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	story := trendtest.NewStory(now.Truncate(time.Minute).Add(time.Minute))
	trendtest.Insert(t, conn, story.Mentions)

	base := servePage(t, conn, now)

	browser := stacktest.Browser(ctx, t)

	dir := stacktest.ArtifactsDir(t)
	for _, vp := range stacktest.Viewports {
		t.Run(vp.Name, func(t *testing.T) {
			tab, cancelTab := chromedp.NewContext(browser)
			defer cancelTab()
			err := chromedp.Do(tab,
				vp.Emulate(),
				chromedp.Navigate(base+"/"),
				chromedp.WaitVisible(chromedp.CSS(`#trending li .name`)),
				chromedp.WaitVisible(chromedp.CSS(`#top li .spark`)),
			)
			if err != nil {
				t.Fatalf("loading the page in Chromium: %v", err)
			}
			firstTrending := run(t, tab, chromedp.Text(chromedp.CSS(`#trending li:first-child .name`)))
			firstTop := run(t, tab, chromedp.Text(chromedp.CSS(`#top li:first-child .name`)))
			trendingNames := run(t, tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#trending .name')].map(e => e.textContent)`))
			topNames := run(t, tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#top .name')].map(e => e.textContent)`))
			sparkLabel := run(t, tab, chromedp.AttributeValue(chromedp.CSS(`#trending li:first-child svg`), "aria-label")).Value
			// The server's clock is stopped in 2025, so by the browser's
			// clock every step is complete: no sparkline draws a projection.
			partials := run(t, tab, chromedp.Evaluate[[]int](`[...document.querySelectorAll('#top li svg.spark')].map(s => s.querySelectorAll('path.spark-partial').length + s.querySelectorAll('circle.spark-dot-partial').length)`))
			status := run(t, tab, chromedp.Text(chromedp.CSS(`#status`)))
			noteHidden := run(t, tab, chromedp.Evaluate[bool](`document.getElementById('trending-history').hidden`))
			shot := run(t, tab, chromedp.FullScreenshot(100))
			if firstTrending != "#NIF2025" {
				t.Errorf("first trending tag %q, want #NIF2025 (trending %v)", firstTrending, trendingNames)
			}
			if strings.Join(topNames, ",") != "#NIF2025,#NATO,#OTAN" || firstTop != "#NIF2025" {
				t.Errorf("top list %v, want #NIF2025, #NATO, #OTAN", topNames)
			}
			for _, n := range trendingNames {
				if n == "#NATO" {
					t.Errorf("steady #NATO is trending: %v", trendingNames)
				}
			}
			if !strings.Contains(sparkLabel, "#NIF2025 per 12 minutes over the last 6 hours: peak 8 in the last hour, 1 before") {
				t.Errorf("sparkline label %q", sparkLabel)
			}
			for i, n := range partials {
				if n != 0 {
					t.Errorf("sparkline %d of top has %d dashed segments or hollow dots, want none: its last step ended long ago", i+1, n)
				}
			}
			if !noteHidden {
				t.Errorf("the not-enough-history note shows over 25 hours of history")
			}
			if !strings.HasPrefix(status, "Updated") {
				t.Errorf("status %q, want Updated …", status)
			}
			path := filepath.Join(dir, "trends-page-"+vp.Name+".png")
			if err := os.WriteFile(path, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot saved to %s", path)
		})
	}

	t.Run("window picker", func(t *testing.T) {
		tab, cancelTab := chromedp.NewContext(browser)
		defer cancelTab()
		err := chromedp.Do(tab,
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(chromedp.CSS(`#top li .name`)),
			chromedp.Click(chromedp.CSS(`label[for="w-24h"]`)),
		)
		if err != nil {
			t.Fatalf("driving Chromium: %v", err)
		}
		run(t, tab, chromedp.Poll[bool](`document.getElementById('top-hint').textContent.includes('24 hours')`, chromedp.WithPollingTimeout(20*time.Second)))
		topNames := run(t, tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#top .name')].map(e => e.textContent)`))
		location := run(t, tab, chromedp.Location())
		// Over a day the steady giant has the most posts: 240 against 63.
		if len(topNames) == 0 || topNames[0] != "#NATO" {
			t.Errorf("top over 24h %v, want #NATO first", topNames)
		}
		if !strings.Contains(location, "window=24h") {
			t.Errorf("location %q does not keep the window", location)
		}
	})
}

// storyPage gives a browser test a migrated database holding the
// trendtest story, the page served on it as of the story's last minute,
// and a context that bounds the test.
func storyPage(t *testing.T) (ctx context.Context, conn driver.Conn, base string) {
	t.Helper()
	_, conn = stacktest.MigratedClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	now := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	trendtest.Insert(t, conn, trendtest.NewStory(now.Truncate(time.Minute).Add(time.Minute)).Mentions)
	return ctx, conn, servePage(t, conn, now)
}

// servePage serves the handler on the trend store of conn, as of now, and
// returns its base URL.
func servePage(t *testing.T, conn driver.Conn, now time.Time) string {
	t.Helper()
	h := NewHandler(Options{
		Store:  trend.NewStore(conn, trend.DefaultParams()),
		Topics: topic.NewStore(conn, rollup.MarkTopics),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    func() time.Time { return now },
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// On a fresh import (the last 90 minutes of the story) the page says that
// the history is too short for trending to mean anything yet.
func TestPageSaysWhenHistoryIsShort(t *testing.T) {
	_, conn := stacktest.MigratedClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	now := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	end := now.Truncate(time.Minute).Add(time.Minute)
	trendtest.Insert(t, conn, trendtest.Since(trendtest.NewStory(end).Mentions, end.Add(-90*time.Minute)))
	base := servePage(t, conn, now)

	tab, cancelTab := chromedp.NewContext(stacktest.Browser(ctx, t))
	defer cancelTab()
	if err := chromedp.Do(tab, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`#trending-history`))); err != nil {
		t.Fatalf("loading the page in Chromium: %v", err)
	}
	note := run(t, tab, chromedp.Text(chromedp.CSS(`#trending-history`)))
	if !strings.Contains(note, "Not enough history yet: the stored posts cover 0 of the 24 earlier windows") {
		t.Errorf("note %q, want it to say the history is too short", note)
	}
}

// run runs one action that returns a value, failing the test on error.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("driving Chromium: %v", err)
	}
	return v
}
