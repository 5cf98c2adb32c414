package web

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"tagpulse/internal/chstore"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/trend"
	"tagpulse/internal/trend/trendtest"
)

// Hostile strings of the last post of tagPageStory: the page must show
// them as text, and never follow the URL.
const (
	hostileExcerpt = `<script>alert("excerpt")</script><img src=x onerror=alert(1)> #Réarmement`
	hostileAuthor  = `<b onmouseover=alert(2)>@evil</b>`
	hostileURL     = `javascript:alert(document.domain)`
)

// pageZone is the time zone the browser runs in: the page shows local
// times, and 13:00 UTC reads 14:00 there in November.
const pageZone = "Europe/Paris"

// tagPageStory is the history of the tag page tests, for the hour ending
// at end: #Réarmement (key rearmement) 2 posts an hour for 29 hours, then
// 24 in the last hour, and one more a little before end whose author, URL
// and text are hostile. Every other post also carries #OTAN, every third
// #安全保障; two posts share an account, of one of four instances; posts
// alternate French and English, every fourth comes from "rss", the others
// from "mastodon". Every seventh post has no row in posts (counted before
// the table existed). Beside it, #Flood: six posts of one account.
type tagPageStory struct {
	end      time.Time
	mentions []trendtest.Mention
	posts    []chstore.Post
}

func newTagPageStory(end time.Time) tagPageStory {
	s := tagPageStory{end: end}
	add := func(id, account string, at time.Time, source, lang string, tags []string, details *chstore.Post) {
		for _, tag := range tags {
			display := map[string]string{"rearmement": "Réarmement", "otan": "OTAN", "安全保障": "安全保障", "flood": "Flood"}[tag]
			s.mentions = append(s.mentions, trendtest.Mention{PostID: id, Account: account, Tag: tag, Display: display, At: at, Source: source, Lang: lang})
		}
		if details != nil {
			s.posts = append(s.posts, *details)
		}
	}
	n := 0
	for h, count := range append([]int{24}, trendtest.Steady(2, 29)...) {
		hourEnd := end.Add(-time.Duration(h) * time.Hour)
		for p := range count {
			at := hourEnd.Add(-time.Hour + time.Duration(p)*time.Hour/time.Duration(count))
			id := fmt.Sprintf("toot-%d", n)
			// Accounts of four instances, so that no instance writes most
			// of the posts (a concentrated tag does not trend).
			account := fmt.Sprintf("@user%d@%s", n/2, []string{"social.example", "piaille.example", "mamot.example", "framapiaf.example"}[n/2%4])
			source, lang := "mastodon", []string{"fr", "en"}[n%2]
			if n%4 == 0 {
				source = "rss"
			}
			tags := []string{"rearmement"}
			if n%2 == 0 {
				tags = append(tags, "otan")
			}
			if n%3 == 0 {
				tags = append(tags, "安全保障")
			}
			var details *chstore.Post
			if n%7 != 0 {
				details = &chstore.Post{ID: id, CreatedAt: at, Source: source, Lang: lang, Author: account,
					URL: "https://social.example/" + id, Excerpt: "Post " + id + " about #Réarmement", InsertedAt: time.Now().UTC()}
			}
			add(id, account, at, source, lang, tags, details)
			n++
		}
	}
	// A flood: one account posts #Flood six times in the last hour; the
	// tag is concentrated and does not trend.
	for i := range 6 {
		at := end.Add(-time.Duration(10*(i+1)) * time.Minute)
		id := fmt.Sprintf("flood-%d", i)
		add(id, "@bot1@spam.example", at, "mastodon", "en", []string{"flood"}, &chstore.Post{ID: id, CreatedAt: at, Source: "mastodon", Lang: "en",
			Author: "@bot1@spam.example", URL: "https://spam.example/" + id, Excerpt: "Buy now #Flood", InsertedAt: time.Now().UTC()})
	}
	at := end.Add(-20 * time.Second)
	add("toot-evil", "@evil", at, "mastodon", "en", []string{"rearmement"}, &chstore.Post{ID: "toot-evil", CreatedAt: at, Source: "mastodon", Lang: "en",
		Author: hostileAuthor, URL: hostileURL, Excerpt: hostileExcerpt, InsertedAt: time.Now().UTC()})
	return s
}

// insert writes the story's mentions and its own rows of posts (none
// for the posts it counts as stored before the table existed).
func (s tagPageStory) insert(ctx context.Context, t *testing.T, conn driver.Conn) {
	t.Helper()
	trendtest.InsertWithoutPosts(t, conn, s.mentions)
	var rows chstore.Posts
	for _, p := range s.posts {
		rows.Append(p)
	}
	if err := rows.Insert(ctx, conn, chstore.Durability{}); err != nil {
		t.Fatalf("inserting posts: %v", err)
	}
}

// shownPost is a post as the page lists it, or as the story says it
// should.
type shownPost struct {
	Excerpt string `json:"excerpt"`
	Author  string `json:"author"`
	Link    string `json:"link"`
}

// want returns what the page of rearmement shows over [from, to) under
// filter: its posts and accounts, its latest n posts (newest first) and
// the number of its posts carrying each other tag.
func (s tagPageStory) want(from, to time.Time, f trend.Filter, n int) (count, accounts int, latest []shownPost, co map[string]int) {
	type post struct {
		id string
		at time.Time
	}
	details := map[string]chstore.Post{}
	for _, p := range s.posts {
		details[p.ID] = p
	}
	tags := map[string][]string{}
	var posts []post
	accs := map[string]bool{}
	for _, m := range s.mentions {
		if m.At.Before(from) || !m.At.Before(to) || (f.Lang != "" && m.Lang != f.Lang) || (f.Source != "" && m.Source != f.Source) {
			continue
		}
		tags[m.PostID] = append(tags[m.PostID], m.Tag)
		if m.Tag == "rearmement" {
			posts = append(posts, post{m.PostID, m.At})
			accs[m.Account] = true
		}
	}
	sort.Slice(posts, func(i, j int) bool {
		if !posts[i].at.Equal(posts[j].at) {
			return posts[i].at.After(posts[j].at)
		}
		return posts[i].id > posts[j].id
	})
	co = map[string]int{}
	for i, p := range posts {
		if i < n {
			d, ok := details[p.id]
			switch {
			case !ok:
				// No stored row: the author is the mention's account, and
				// the text is missing.
				var account string
				for _, m := range s.mentions {
					if m.PostID == p.id {
						account = m.Account
					}
				}
				latest = append(latest, shownPost{Excerpt: "(text not stored)", Author: account})
			case strings.HasPrefix(d.URL, "https://"):
				latest = append(latest, shownPost{Excerpt: d.Excerpt, Author: d.Author, Link: d.URL})
			default:
				latest = append(latest, shownPost{Excerpt: d.Excerpt, Author: d.Author})
			}
		}
		for _, tag := range tags[p.id] {
			if tag != "rearmement" {
				co[tag]++
			}
		}
	}
	return len(posts), len(accs), latest, co
}

// shares returns the shares of rearmement's posts over [from, to) that
// its most active account and its most active instance (what follows the
// @ of user@instance) wrote, in whole percent.
func (s tagPageStory) shares(from, to time.Time) (account, instance int) {
	byAccount, byInstance := map[string]int{}, map[string]int{}
	total := 0
	for _, m := range s.mentions {
		if m.Tag != "rearmement" || m.At.Before(from) || !m.At.Before(to) {
			continue
		}
		total++
		byAccount[m.Account]++
		if parts := strings.Split(strings.TrimPrefix(m.Account, "@"), "@"); len(parts) == 2 {
			byInstance[parts[1]]++
		}
	}
	top := func(counts map[string]int) int {
		n := 0
		for _, c := range counts {
			n = max(n, c)
		}
		return int(math.Round(100 * float64(n) / float64(total)))
	}
	return top(byAccount), top(byInstance)
}

// tagTab is a browser tab on the page, in pageZone, that collects the
// console's errors (CSP violations among them) and any call of alert.
type tagTab struct {
	ctx    context.Context
	cancel context.CancelFunc
	errs   func() []string
}

func openTagTab(t *testing.T, browser context.Context) tagTab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	tab := tagTab{ctx: ctx, cancel: cancel, errs: stacktest.ConsoleErrors(ctx)}
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: pageZone}); err != nil {
		t.Fatalf("setting the browser's time zone: %v", err)
	}
	// An alert that ran would be script from a post: report it as a
	// console error.
	const watch = `window.alert = (m) => console.error("alert called: " + m);`
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watch}); err != nil {
		t.Fatalf("watching alert: %v", err)
	}
	return tab
}

// close ends the tab and fails the test on any console error, CSP
// violation or alert it saw, but those containing one of expected.
func (tab tagTab) close(t *testing.T, expected ...string) {
	t.Helper()
	tab.cancel()
	for _, e := range tab.errs() {
		if !slices.ContainsFunc(expected, func(x string) bool { return strings.Contains(e, x) }) {
			t.Errorf("console: %s", e)
		}
	}
}

// waitFor waits until the expression is true in the tab, through the
// navigations a click or a key press may start (an evaluation that a
// navigation interrupts is tried again).
func waitFor(t *testing.T, tab context.Context, expression string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](expression))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	loc, _ := chromedp.Run(tab, chromedp.Location())
	t.Fatalf("waited 20s at %s for %s (last error %v)", loc, expression, last)
}

// loaded waits until the tag page has shown an answer for its view.
func loaded(t *testing.T, tab context.Context) {
	t.Helper()
	run(t, tab, chromedp.Poll[bool](`!document.body.hasAttribute('aria-busy') && document.getElementById('status').textContent.startsWith('Updated')`, chromedp.WithPollingTimeout(20*time.Second)))
}

// TestTagPageInBrowser loads /tags/rearmement in headless Chromium against
// the handler serving tagPageStory from real ClickHouse: the counts
// against the previous window, the chart, since when the tag rises, the
// tags used with it (linking to their pages) and its latest posts, the
// hostile one as plain text without a link; on a laptop and a phone
// without horizontal scrolling; the window and filters kept in the address
// through a reload; the links from the trends page, with the mouse and
// with the keyboard; the empty and refused states; a concentrated and a
// hidden tag's notes.
// No console error and no CSP violation anywhere; screenshots go to the
// artifacts folder.
func TestTagPageInBrowser(t *testing.T) {
	_, conn := stacktest.MigratedClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	now := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	story := newTagPageStory(now.Truncate(time.Minute).Add(time.Minute))
	story.insert(ctx, t, conn)
	base := servePage(t, conn, now)
	browser := stacktest.Browser(ctx, t)
	dir := stacktest.ArtifactsDir(t)
	zone, err := time.LoadLocation(pageZone)
	if err != nil {
		t.Fatal(err)
	}

	// text reads the text of an element by id.
	text := func(t *testing.T, tab context.Context, id string) string {
		t.Helper()
		return run(t, tab, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q).textContent`, id)))
	}
	address := func(t *testing.T, tab context.Context) *url.URL {
		t.Helper()
		u, err := url.Parse(run(t, tab, chromedp.Location()))
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	// checkCounts checks the figures of the page against the story for
	// the window and filter.
	checkCounts := func(t *testing.T, tab context.Context, window time.Duration, f trend.Filter) {
		t.Helper()
		from, to := trend.Span(now, window)
		count, accounts, _, _ := story.want(from, to, f, 0)
		prev, _, _, _ := story.want(from.Add(-window), from, f, 0)
		if got := text(t, tab, "count"); got != fmt.Sprint(count) {
			t.Errorf("%s %+v: %s posts shown, want %d", window, f, got, count)
		}
		if got := text(t, tab, "accounts"); got != fmt.Sprint(accounts) {
			t.Errorf("%s %+v: %s accounts shown, want %d", window, f, got, accounts)
		}
		unit := "posts"
		if prev == 1 {
			unit = "post"
		}
		if got := text(t, tab, "count-change"); !strings.Contains(got, fmt.Sprintf("against %d %s in the", prev, unit)) {
			t.Errorf("%s %+v: change %q, want it against the %d posts of the window before", window, f, got, prev)
		}
	}

	for _, vp := range stacktest.Viewports {
		t.Run(vp.Name, func(t *testing.T) {
			tab := openTagTab(t, browser)
			defer tab.close(t)
			if err := chromedp.Do(tab.ctx, vp.Emulate(), chromedp.Navigate(base+"/tags/rearmement"), chromedp.WaitVisible(chromedp.CSS(`#posts li`))); err != nil {
				t.Fatalf("loading the tag page in Chromium: %v", err)
			}
			loaded(t, tab.ctx)
			from, to := trend.Span(now, time.Hour)
			count, _, latest, co := story.want(from, to, trend.Filter{}, trend.DefaultTagPosts)

			if got := text(t, tab.ctx, "tag-title"); got != "#Réarmement" {
				t.Errorf("title %q, want #Réarmement", got)
			}
			if title := run(t, tab.ctx, chromedp.Title()); title != "#Réarmement — tagpulse" {
				t.Errorf("document title %q", title)
			}
			checkCounts(t, tab.ctx, time.Hour, trend.Filter{})
			if got := text(t, tab.ctx, "count-change"); !strings.HasPrefix(got, fmt.Sprintf("+%d (", count-2)) {
				t.Errorf("change %q, want +%d (…%%) against 2 posts", got, count-2)
			}
			if hidden := run(t, tab.ctx, chromedp.Evaluate[bool](`document.getElementById('hidden-note').hidden && document.getElementById('concentrated').hidden`)); !hidden {
				t.Errorf("the hidden or the concentrated note shows for a tag nobody hid, written by many")
			}
			account, instance := story.shares(from, to)
			if got, want := text(t, tab.ctx, "concentration"), fmt.Sprintf("Its most active account wrote %d%% of these posts, its most active instance %d%%.", account, instance); got != want {
				t.Errorf("concentration %q, want %q", got, want)
			}

			// The chart: a dot per step of the API's answer (24 hours for
			// a 1h window), times under the axis, the window shaded.
			dots := run(t, tab.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#chart svg circle.chart-point').length`))
			labels := run(t, tab.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#chart svg text.chart-label')].map(e => e.textContent)`))
			shaded := run(t, tab.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#chart svg rect.chart-window').length`))
			if span := trend.ChartSpan(time.Hour) / trend.ChartStep(time.Hour); dots != int(span) {
				t.Errorf("%d points on the chart, want %d", dots, span)
			}
			if shaded != 1 || !slices.ContainsFunc(labels, func(l string) bool { return len(l) == 5 && l[2] == ':' }) {
				t.Errorf("chart: %d shaded windows, labels %q; want one, and times like 14:00", shaded, labels)
			}
			// The last step, 14:00 to 15:00 UTC, is 38 minutes old at the
			// window's end: drawn at its pace, dashed, with a hollow dot.
			stepStart := to.Truncate(time.Hour)
			inStep, _, _, _ := story.want(stepStart, to, trend.Filter{}, 0)
			pace := math.Round(float64(inStep) / (float64(to.Sub(stepStart)) / float64(time.Hour)))
			partial := run(t, tab.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#chart path.chart-partial, #chart circle.chart-point-partial')].map(e => e.tagName + ' ' + e.textContent)`))
			wantPartial := []string{"path ", fmt.Sprintf("circle %s: %d posts, ", stepStart.In(zone).Format("15:04"), inStep)}
			if len(partial) != 2 || partial[0] != wantPartial[0] || !strings.HasPrefix(partial[1], wantPartial[1]) || !strings.HasSuffix(partial[1], fmt.Sprintf(" so far, about %g posts at this pace", pace)) {
				t.Errorf("the step still filling is drawn as %q, want a dashed segment and a hollow dot titled %q… so far, about %g posts at this pace", partial, wantPartial[1], pace)
			}
			// The burst started in the hour of 13:00 UTC: 14:00 in Paris.
			wantRising := "Rising since " + from.Truncate(time.Hour).In(zone).Format("15:04")
			if got := text(t, tab.ctx, "rising"); got != wantRising {
				t.Errorf("%q, want %q", got, wantRising)
			}

			// Co-occurring tags, most used first, each linking to its page
			// in the same window.
			type coTag struct {
				Name string `json:"name"`
				Href string `json:"href"`
				Meta string `json:"meta"`
			}
			cos := run(t, tab.ctx, chromedp.Evaluate[[]coTag](`[...document.querySelectorAll('#cotags li')].map(li => ({name: li.querySelector('a').textContent, href: li.querySelector('a').getAttribute('href'), meta: li.querySelector('.meta').textContent}))`))
			wantCo := []coTag{
				{"#OTAN", "/tags/otan?window=1h", fmt.Sprintf("in %d posts", co["otan"])},
				{"#安全保障", "/tags/%E5%AE%89%E5%85%A8%E4%BF%9D%E9%9A%9C?window=1h", fmt.Sprintf("in %d posts", co["安全保障"])},
			}
			if !slices.Equal(cos, wantCo) {
				t.Errorf("co-occurring tags %+v, want %+v", cos, wantCo)
			}
			if note := text(t, tab.ctx, "cotags-note"); note != fmt.Sprintf("Counted among its latest %d posts in this window.", count) {
				t.Errorf("co-occurring note %q", note)
			}

			// The latest posts, newest first: the hostile one as text.
			shown := run(t, tab.ctx, chromedp.Evaluate[[]shownPost](`[...document.querySelectorAll('#posts li')].map(li => ({
				excerpt: li.querySelector('.excerpt').textContent,
				author: (li.querySelector('.author') || {}).textContent || '',
				link: (li.querySelector('a') || {href: ''}).href,
			}))`))
			if !slices.Equal(shown, latest) {
				t.Errorf("posts shown:\n%+v\nwant:\n%+v", shown, latest)
			}
			injected := run(t, tab.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#posts script, #posts img, #posts b, main [onerror], main [onmouseover], a[href^="javascript"]').length`))
			if injected != 0 {
				t.Errorf("%d elements or links made from the posts' text, want none", injected)
			}
			if got := text(t, tab.ctx, "posts-hint"); got != fmt.Sprintf("· %d of %d", len(latest), count) {
				t.Errorf("posts hint %q", got)
			}

			if vp.Mobile {
				overflow := run(t, tab.ctx, chromedp.Evaluate[[]float64](`[document.documentElement.scrollWidth, window.innerWidth, document.querySelector('#chart svg').getBoundingClientRect().right]`))
				if overflow[0] > overflow[1] || overflow[2] > overflow[1] {
					t.Errorf("on a phone the page is %gpx wide and the chart ends at %gpx, in a %gpx window: it scrolls sideways", overflow[0], overflow[2], overflow[1])
				}
			}
			shot := run(t, tab.ctx, chromedp.FullScreenshot(100))
			path := filepath.Join(dir, "tag-page-"+vp.Name+".png")
			if err := os.WriteFile(path, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot saved to %s", path)
		})
	}

	t.Run("window and filters in the address", func(t *testing.T) {
		tab := openTagTab(t, browser)
		defer tab.close(t)
		if err := chromedp.Do(tab.ctx, chromedp.Navigate(base+"/tags/rearmement"), chromedp.WaitVisible(chromedp.CSS(`#posts li`))); err != nil {
			t.Fatalf("loading the tag page: %v", err)
		}
		loaded(t, tab.ctx)
		day := 24 * time.Hour
		waitCount := func(window time.Duration, f trend.Filter) {
			t.Helper()
			from, to := trend.Span(now, window)
			count, _, _, _ := story.want(from, to, f, 0)
			js := fmt.Sprintf(`document.getElementById('count').textContent === %q && !document.body.hasAttribute('aria-busy')`, fmt.Sprint(count))
			if _, err := chromedp.Run(tab.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
				t.Fatalf("%s %+v: count %q, want %d: %v", window, f, text(t, tab.ctx, "count"), count, err)
			}
			checkCounts(t, tab.ctx, window, f)
		}
		run(t, tab.ctx, chromedp.Click(chromedp.CSS(`label[for="w-24h"]`)))
		waitCount(day, trend.Filter{})
		run(t, tab.ctx, chromedp.Poll[bool](`document.getElementById('f-lang').options.length > 1`, chromedp.WithPollingTimeout(20*time.Second)))
		run(t, tab.ctx, chromedp.Evaluate[bool](`(() => { const m = document.getElementById('f-lang'); m.value = 'fr'; m.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`))
		waitCount(day, trend.Filter{Lang: "fr"})
		u := address(t, tab.ctx)
		if u.Path != "/tags/rearmement" || u.Query().Get("window") != "24h" || u.Query().Get("lang") != "fr" || u.Query().Has("source") {
			t.Errorf("address %s, want /tags/rearmement?window=24h&lang=fr", u)
		}
		links := run(t, tab.ctx, chromedp.Evaluate[[]string](`['back', 'csv'].map(id => document.getElementById(id).getAttribute('href')).concat([...document.querySelectorAll('#cotags a')].map(a => a.getAttribute('href')))`))
		want := []string{"/?window=24h&lang=fr", "/api/v1/tags/rearmement?window=24h&lang=fr&posts=100&format=csv",
			"/tags/otan?window=24h&lang=fr", "/tags/%E5%AE%89%E5%85%A8%E4%BF%9D%E9%9A%9C?window=24h&lang=fr"}
		if !slices.Equal(links, want) {
			t.Errorf("links back, to the CSV and to the co-occurring tags %q, want %q", links, want)
		}

		if err := chromedp.Do(tab.ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#posts li`))); err != nil {
			t.Fatalf("reloading: %v", err)
		}
		loaded(t, tab.ctx)
		run(t, tab.ctx, chromedp.Poll[bool](`document.getElementById('f-lang').value === 'fr'`, chromedp.WithPollingTimeout(20*time.Second)))
		state := run(t, tab.ctx, chromedp.Evaluate[string](`[document.getElementById('f-source').value, document.getElementById('f-lang').value, document.querySelector('input[name=window]:checked').value].join(' ')`))
		if state != " fr 24h" {
			t.Errorf("after reload source, lang and window are %q, want \" fr 24h\"", state)
		}
		checkCounts(t, tab.ctx, day, trend.Filter{Lang: "fr"})

		// The CSV link downloads the view's latest posts, up to 100.
		resp, err := http.Get(base + links[1])
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		rows, err := csv.NewReader(resp.Body).ReadAll()
		from, to := trend.Span(now, day)
		count, _, _, _ := story.want(from, to, trend.Filter{Lang: "fr"}, 0)
		if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Disposition") != `attachment; filename="tag-rearmement.csv"` || len(rows) != 1+min(count, 100) {
			t.Errorf("CSV link: %s %q, %d rows (%v), want a header and %d posts", resp.Status, resp.Header.Get("Content-Disposition"), len(rows), err, min(count, 100))
		}
	})

	t.Run("links from the trends page", func(t *testing.T) {
		tab := openTagTab(t, browser)
		defer tab.close(t)
		if err := chromedp.Do(tab.ctx, chromedp.Navigate(base+"/?window=6h&source=mastodon"), chromedp.WaitVisible(chromedp.CSS(`#top li a.name`)), chromedp.WaitVisible(chromedp.CSS(`#trending li a.name`))); err != nil {
			t.Fatalf("loading the trends page: %v", err)
		}
		type link struct {
			Name string `json:"name"`
			Href string `json:"href"`
		}
		for _, list := range []string{"top", "trending"} {
			links := run(t, tab.ctx, chromedp.Evaluate[[]link](fmt.Sprintf(`[...document.querySelectorAll('#%s li .name')].map(a => ({name: a.textContent, href: a.getAttribute('href') || ''}))`, list)))
			want := map[string]string{"#Réarmement": "/tags/rearmement?window=6h&source=mastodon", "#OTAN": "/tags/otan?window=6h&source=mastodon",
				"#安全保障": "/tags/%E5%AE%89%E5%85%A8%E4%BF%9D%E9%9A%9C?window=6h&source=mastodon", "#Flood": "/tags/flood?window=6h&source=mastodon"}
			if len(links) == 0 || (list == "top" && links[0].Name != "#Réarmement") {
				t.Errorf("%s lists %+v, want links (#Réarmement first in top)", list, links)
			}
			for _, l := range links {
				if want[l.Name] != l.Href {
					t.Errorf("%s: %s links to %q, want %q", list, l.Name, l.Href, want[l.Name])
				}
				if list == "trending" && l.Name == "#Flood" {
					t.Errorf("the concentrated #Flood is trending")
				}
			}
		}
		if err := chromedp.Do(tab.ctx, chromedp.Click(chromedp.CSS(`#top li:first-child a.name`)), chromedp.WaitVisible(chromedp.CSS(`#posts li`))); err != nil {
			t.Fatalf("following the link: %v", err)
		}
		loaded(t, tab.ctx)
		if u := address(t, tab.ctx); u.Path != "/tags/rearmement" || u.RawQuery != "window=6h&source=mastodon" {
			t.Errorf("the link led to %s", u)
		}
		state := run(t, tab.ctx, chromedp.Evaluate[string](`document.querySelector('input[name=window]:checked').value + ' ' + document.getElementById('f-source').value`))
		if state != "6h mastodon" {
			t.Errorf("window and source %q on the tag page, want 6h mastodon", state)
		}
		checkCounts(t, tab.ctx, 6*time.Hour, trend.Filter{Source: "mastodon"})
	})

	t.Run("keyboard", func(t *testing.T) {
		tab := openTagTab(t, browser)
		defer tab.close(t)
		if err := chromedp.Do(tab.ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`#trending li a.name`))); err != nil {
			t.Fatalf("loading the trends page: %v", err)
		}
		// tabTo presses Tab until the focus is on an element matching
		// selector, and returns its href.
		tabTo := func(selector string, most int) string {
			t.Helper()
			js := fmt.Sprintf(`document.activeElement && document.activeElement.matches(%q) ? document.activeElement.getAttribute('href') : ''`, selector)
			for range most {
				run(t, tab.ctx, chromedp.KeyEvent(kb.Tab))
				if href := run(t, tab.ctx, chromedp.Evaluate[string](js)); href != "" {
					return href
				}
			}
			t.Fatalf("%d presses of Tab did not reach %s (focus on %s)", most, selector,
				run(t, tab.ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : 'nothing'`)))
			return ""
		}
		// follow presses Enter and waits for the page at href.
		follow := func(href string) {
			t.Helper()
			run(t, tab.ctx, chromedp.KeyEvent(kb.Enter))
			waitFor(t, tab.ctx, fmt.Sprintf(`location.pathname + location.search === %q && document.getElementById('status').textContent.startsWith('Updated')`, href))
		}
		href := tabTo("#trending a.name", 20)
		if !strings.HasPrefix(href, "/tags/") || !strings.HasSuffix(href, "?window=1h") {
			t.Errorf("the first tag link Tab reaches goes to %q, want a tag page in the last hour", href)
		}
		follow(href)
		// On the tag page Tab reaches the co-occurring tags (after the
		// window picker and the filters), and Enter follows one to its page.
		href = tabTo("#cotags a", 60)
		follow(href)
		if title := text(t, tab.ctx, "tag-title"); !strings.HasPrefix(title, "#") || strings.Contains(title, "…") {
			t.Errorf("the co-occurring tag's page is titled %q", title)
		}
	})

	t.Run("empty and refused", func(t *testing.T) {
		tab := openTagTab(t, browser)
		// The browser logs the refused call of the refused tag.
		defer tab.close(t, "status of 400 (Bad Request) ("+base+"/api/v1/tags/%23?window=1h)")
		if err := chromedp.Do(tab.ctx, chromedp.Navigate(base+"/tags/rearmement?source=file"), chromedp.WaitVisible(chromedp.CSS(`#posts-empty`))); err != nil {
			t.Fatalf("loading an empty view: %v", err)
		}
		loaded(t, tab.ctx)
		if got, want := text(t, tab.ctx, "posts-empty"), "No posts of #Réarmement in the last hour from source file."; got != want {
			t.Errorf("empty posts say %q, want %q", got, want)
		}
		if got := text(t, tab.ctx, "cotags-empty"); got != "No posts in this window, so no tags used with it." {
			t.Errorf("empty co-occurring tags say %q", got)
		}
		if got := text(t, tab.ctx, "count") + " " + text(t, tab.ctx, "rising"); got != "0 Not rising" {
			t.Errorf("empty view: %q", got)
		}
		if err := chromedp.Do(tab.ctx, chromedp.Navigate(base+"/tags/%23")); err != nil {
			t.Fatal(err)
		}
		run(t, tab.ctx, chromedp.Poll[bool](`document.getElementById('status').classList.contains('error')`, chromedp.WithPollingTimeout(20*time.Second)))
		if got := text(t, tab.ctx, "status"); !strings.Contains(got, "tag must be non-empty") {
			t.Errorf("status for /tags/%%23: %q, want the API's reason", got)
		}
	})

	t.Run("concentrated tag", func(t *testing.T) {
		tab := openTagTab(t, browser)
		defer tab.close(t)
		if err := chromedp.Do(tab.ctx, chromedp.Navigate(base+"/tags/flood"), chromedp.WaitVisible(chromedp.CSS(`#concentrated`))); err != nil {
			t.Fatalf("loading a concentrated tag's page: %v", err)
		}
		loaded(t, tab.ctx)
		got := text(t, tab.ctx, "concentrated") + " | " + text(t, tab.ctx, "concentration")
		if want := "Concentrated: most of these posts come from one account, so #Flood is left out of Trending. | Its most active account wrote 100% of these posts, its most active instance 100%."; got != want {
			t.Errorf("concentrated tag's page says %q, want %q", got, want)
		}
	})

	// Last, as it changes the lists: a tag an operator hid keeps its page,
	// which says so.
	t.Run("hidden tag", func(t *testing.T) {
		if _, err := trend.NewStore(conn, trend.DefaultParams()).Hide(ctx, "otan", "test", "tester", now); err != nil {
			t.Fatal(err)
		}
		tab := openTagTab(t, browser)
		defer tab.close(t)
		if err := chromedp.Do(tab.ctx, chromedp.Navigate(base+"/tags/otan"), chromedp.WaitVisible(chromedp.CSS(`#hidden-note`))); err != nil {
			t.Fatalf("loading a hidden tag's page: %v", err)
		}
		loaded(t, tab.ctx)
		from, to := trend.Span(now, time.Hour)
		_, _, _, co := story.want(from, to, trend.Filter{}, 0)
		if got := text(t, tab.ctx, "hidden-note") + " " + text(t, tab.ctx, "count"); got != fmt.Sprintf("hidden from top and trending %d", co["otan"]) {
			t.Errorf("hidden tag's page: %q, want the note and its %d posts", got, co["otan"])
		}
	})

	// The watch of the console sees CSP violations: an inline script,
	// which the page never has, is reported.
	t.Run("the console watch sees CSP violations", func(t *testing.T) {
		tab := openTagTab(t, browser)
		if err := chromedp.Do(tab.ctx, chromedp.Navigate(base+"/tags/otan"), chromedp.WaitVisible(chromedp.CSS(`#status`))); err != nil {
			t.Fatal(err)
		}
		run(t, tab.ctx, chromedp.Evaluate[bool](`(() => { const s = document.createElement('script'); s.textContent = 'window.ran = true'; document.head.append(s); return true; })()`))
		ran := run(t, tab.ctx, chromedp.Evaluate[bool](`window.ran === true`))
		tab.cancel()
		errs := strings.Join(tab.errs(), "\n")
		if ran || !strings.Contains(errs, "Content Security Policy") {
			t.Errorf("inline script ran: %v; console: %s", ran, errs)
		}
	})
}
