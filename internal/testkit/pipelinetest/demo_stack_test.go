package pipelinetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"tagpulse/internal/corpus"
	"tagpulse/internal/hashtag"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/trend"
)

// TestDemoSetTrendsOnThePage is what `make run` shows on a first run: it
// generates the demo set with `ingest gen-corpus --demo`, publishes it and
// the sample article with `ingest file` into a fresh topic, aggregates with
// `aggregate run --until-caught-up` into a fresh database, and checks that
// `aggregate trending` over the last hour lists the burst tags first, over
// a full day of history, and no steady tag. Then it serves the page and
// checks in Chromium, on a laptop and a phone viewport, that Trending
// starts with the burst tags and the console stays free of errors; and
// that the first burst tag's page, reached from its link, says it is
// rising and lists its posts. It saves screenshots of both pages: into
// docs/img (the README's) with TAGPULSE_UPDATE_SCREENSHOTS=1, else into
// the artifacts folder.
func TestDemoSetTrendsOnThePage(t *testing.T) {
	cmd := freshPipeline(t, "demo")
	root := stacktest.RepoRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	demo := filepath.Join(t.TempDir(), "demo.jsonl")
	cmd.run("ingest", "gen-corpus", "--demo", "--output", demo)
	cmd.run("ingest", "file", demo, samplePosts(t, root))
	cmd.run("aggregate", "run", "--until-caught-up", "--http-addr", "")

	var trending []trend.Trend
	out, _ := cmd.run("aggregate", "trending", "--window", "1h", "--limit", "20", "--json")
	if err := json.Unmarshal(out, &trending); err != nil {
		t.Fatalf("decoding aggregate trending --json: %v\n%s", err, out)
	}
	var names []string
	for _, tr := range trending {
		names = append(names, tr.Display)
		if !tr.EnoughHistory || tr.HistoryWindows != trend.DefaultParams().BaselineWindows {
			t.Errorf("trending %s rests on %d windows of history (enough %v), want a full day", tr.Display, tr.HistoryWindows, tr.EnoughHistory)
		}
	}
	burst := corpus.DemoBurstTags
	if len(names) < len(burst) || !sameTags(names[:len(burst)], burst) {
		t.Errorf("trending over 1h lists %v, want the burst tags %v first", names, burst)
	}
	for _, n := range names {
		if slices.Contains(corpus.DemoSteadyTags, n) {
			t.Errorf("steady tag %s is trending: %+v", n, trending)
		}
	}

	addr := stacktest.FreeAddr(t)
	stacktest.Start(t, "aggregate run", filepath.Join(cmd.dir, "aggregate"), cmd.env, "run", "--http-addr", addr)
	stacktest.WaitHTTP(ctx, t, "http://"+addr+"/healthz")

	dir := stacktest.ArtifactsDir(t)
	if os.Getenv("TAGPULSE_UPDATE_SCREENSHOTS") == "1" {
		dir = filepath.Join(root, "docs", "img")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	browser := stacktest.Browser(ctx, t)
	for _, vp := range stacktest.Viewports {
		t.Run(vp.Name, func(t *testing.T) {
			tab, cancelTab := chromedp.NewContext(browser)
			errs := stacktest.ConsoleErrors(tab)
			if err := chromedp.Do(tab, vp.Emulate(), chromedp.Navigate("http://"+addr+"/"),
				chromedp.WaitVisible(chromedp.CSS(`#trending li .spark`)),
				chromedp.WaitVisible(chromedp.CSS(`#top li .spark`))); err != nil {
				cancelTab()
				t.Fatalf("loading the page in Chromium: %v", err)
			}
			shown, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#trending .name')].map(e => e.textContent.replace(/^#/, ''))`))
			if err != nil {
				cancelTab()
				t.Fatalf("reading the Trending list: %v", err)
			}
			// The server's clock is the browser's here, so each sparkline's
			// last step is still filling: it is never drawn as a dip.
			partials, err := chromedp.Run(tab, chromedp.Evaluate[[]int](`[...document.querySelectorAll('#top li svg.spark')].map(s => s.querySelectorAll('path.spark-partial').length + s.querySelectorAll('circle.spark-dot-partial').length)`))
			if err != nil {
				cancelTab()
				t.Fatalf("reading the sparklines: %v", err)
			}
			// Before half of the step has passed it is left out (0), after
			// that drawn as one dashed segment and one hollow dot (2); all
			// sparklines share the step, so all agree.
			for i, n := range partials {
				if (n != 0 && n != 2) || n != partials[0] {
					t.Errorf("sparklines of top draw the step still filling as %v dashed segments and hollow dots (sparkline %d), want all 0 or all 2", partials, i+1)
					break
				}
			}
			shot, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
			cancelTab()
			if err != nil {
				t.Fatalf("taking a screenshot: %v", err)
			}
			if len(shown) < len(burst) || !sameTags(shown[:len(burst)], burst) {
				t.Errorf("the page's Trending list is %v, want the burst tags %v first", shown, burst)
			}
			for _, e := range errs() {
				t.Errorf("console: %s", e)
			}
			path := filepath.Join(dir, "trends-page-"+vp.Name+".png")
			if err := os.WriteFile(path, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot saved to %s (%d bytes)", path, len(shot))
		})
	}

	// The page of the first burst tag, as its link in Trending opens it.
	tag := hashtag.Canonical(burst[0])
	for _, vp := range stacktest.Viewports {
		t.Run("tag page "+vp.Name, func(t *testing.T) {
			tab, cancelTab := chromedp.NewContext(browser)
			errs := stacktest.ConsoleErrors(tab)
			defer func() {
				cancelTab()
				for _, e := range errs() {
					t.Errorf("console: %s", e)
				}
			}()
			link := fmt.Sprintf(`#trending a.name[href="/tags/%s?window=1h"]`, tag)
			if err := chromedp.Do(tab, vp.Emulate(), chromedp.Navigate("http://"+addr+"/"),
				chromedp.WaitVisible(chromedp.CSS(link)), chromedp.Click(chromedp.CSS(link)),
				chromedp.WaitVisible(chromedp.CSS(`#posts li`)), chromedp.WaitVisible(chromedp.CSS(`#chart circle.chart-point`))); err != nil {
				t.Fatalf("opening the page of %s from its link in Chromium: %v", tag, err)
			}
			type shown struct {
				Title  string `json:"title"`
				Rising string `json:"rising"`
				Posts  int    `json:"posts"`
				Points int    `json:"points"`
				Wide   bool   `json:"wide"`
			}
			got, err := chromedp.Run(tab, chromedp.Evaluate[shown](`({
				title: document.getElementById('tag-title').textContent,
				rising: document.getElementById('rising').textContent,
				posts: document.querySelectorAll('#posts li').length,
				points: document.querySelectorAll('#chart circle.chart-point').length,
				wide: document.documentElement.scrollWidth > window.innerWidth,
			})`))
			if err != nil {
				t.Fatalf("reading the tag page: %v", err)
			}
			shot, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatalf("taking a screenshot: %v", err)
			}
			want := int(trend.ChartSpan(time.Hour) / trend.ChartStep(time.Hour))
			if got.Title != "#"+burst[0] || !strings.HasPrefix(got.Rising, "Rising since ") || got.Posts != trend.DefaultTagPosts || got.Points != want || got.Wide {
				t.Errorf("the page of %s shows %+v; want #%s rising, %d posts, %d points on the chart, no sideways scrolling", tag, got, burst[0], trend.DefaultTagPosts, want)
			}
			path := filepath.Join(dir, "tag-page-"+vp.Name+".png")
			if err := os.WriteFile(path, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot saved to %s (%d bytes)", path, len(shot))
		})
	}
}

// sameTags reports whether a and b hold the same tags in any order.
func sameTags(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(s string) bool { return !slices.Contains(b, s) })
}
