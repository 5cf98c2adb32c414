package web

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"tagpulse/internal/testkit/stacktest"
)

// TestPageFiltersAndShareableLinks chooses a language and a source in the
// page's menus (filled from the stored posts), checks that the lists
// follow and that the address carries the window and the filters, reloads,
// and checks that the view comes back as it was.
func TestPageFiltersAndShareableLinks(t *testing.T) {
	ctx, _, base := storyPage(t)

	tab, cancelTab := chromedp.NewContext(stacktest.Browser(ctx, t))
	defer cancelTab()
	errs := stacktest.ConsoleErrors(tab)

	topNames := func() string {
		return strings.Join(run(t, tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#top .name')].map(e => e.textContent)`)), ",")
	}
	waitTop := func(want string) {
		t.Helper()
		js := fmt.Sprintf(`[...document.querySelectorAll('#top .name')].map(e => e.textContent).join(',') === %q && !document.body.hasAttribute('aria-busy')`, want)
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			t.Fatalf("top list %q, want %q: %v", topNames(), want, err)
		}
	}
	choose := func(menu, value string) {
		t.Helper()
		run(t, tab, chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const m = document.getElementById(%q); m.value = %q; m.dispatchEvent(new Event('change', {bubbles: true})); return m.value === %q; })()`, menu, value, value)))
	}
	query := func() url.Values {
		t.Helper()
		u, err := url.Parse(run(t, tab, chromedp.Location()))
		if err != nil {
			t.Fatal(err)
		}
		return u.Query()
	}
	menus := func() string {
		return run(t, tab, chromedp.Evaluate[string](`['f-source', 'f-lang'].map(id => [...document.getElementById(id).options].map(o => o.value).join('|')).join(' ')`))
	}

	if err := chromedp.Do(tab,
		chromedp.Navigate(base+"/?window=24h"),
		chromedp.WaitVisible(chromedp.CSS(`#top li .name`)),
	); err != nil {
		t.Fatalf("loading the page in Chromium: %v", err)
	}
	run(t, tab, chromedp.Poll[bool](`document.getElementById('f-lang').options.length > 1`, chromedp.WithPollingTimeout(20*time.Second)))
	// The menus hold "All" and the values of the stored posts.
	if got, want := menus(), "|file|rss |en|fr"; got != want {
		t.Errorf("filter menus %q, want %q", got, want)
	}
	waitTop("#NATO,#NIF2025,#OTAN")

	choose("f-lang", "fr")
	waitTop("#NIF2025,#OTAN")
	if q := query(); q.Get("window") != "24h" || q.Get("lang") != "fr" || q.Has("source") {
		t.Errorf("address %v, want window=24h and lang=fr only", q)
	}

	if err := chromedp.Do(tab, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#top li .name`))); err != nil {
		t.Fatalf("reloading: %v", err)
	}
	waitTop("#NIF2025,#OTAN")
	state := run(t, tab, chromedp.Evaluate[string](`[document.getElementById('f-source').value, document.getElementById('f-lang').value, document.querySelector('input[name=window]:checked').value].join(' ')`))
	if state != " fr 24h" {
		t.Errorf("after reload source, lang and window are %q, want \" fr 24h\"", state)
	}

	choose("f-lang", "")
	choose("f-source", "rss")
	waitTop("#NATO")
	if q := query(); q.Get("source") != "rss" || q.Has("lang") || q.Get("window") != "24h" {
		t.Errorf("address %v, want window=24h and source=rss only", q)
	}
	cancelTab()
	for _, e := range errs() {
		t.Errorf("console: %s", e)
	}
}
