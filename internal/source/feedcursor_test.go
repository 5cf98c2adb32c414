package source

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// bigFeed serves an RSS feed of n items, one a minute up to fixedNow,
// newest first, plus extra items on top; with etag it answers
// If-None-Match with 304 while the feed is unchanged.
type bigFeed struct {
	n       int
	extra   atomic.Int32
	etag    bool
	served  atomic.Int32
	answers atomic.Int32 // 304s
}

func (b *bigFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.served.Add(1)
	version := fmt.Sprintf(`"v%d"`, b.extra.Load())
	if b.etag {
		if r.Header.Get("If-None-Match") == version {
			b.answers.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", version)
	}
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>`)
	item := func(i int, at time.Time) {
		fmt.Fprintf(&sb, `<item><guid>https://big.example.org/%d</guid><title>Item %d</title><description>#big %d</description><pubDate>%s</pubDate></item>`,
			i, i, i, at.Format(time.RFC1123Z))
	}
	for e := int(b.extra.Load()); e >= 1; e-- {
		item(b.n+e, fixedNow.Add(time.Duration(e)*time.Second))
	}
	for i := b.n; i >= 1; i-- {
		item(i, fixedNow.Add(-time.Duration(b.n-i)*time.Minute))
	}
	sb.WriteString(`</channel></rss>`)
	w.Header().Set("Content-Type", "application/rss+xml")
	_, _ = w.Write([]byte(sb.String()))
}

// TestFeedCursorLargeFeed polls a feed of 6,000 items again and again:
// only the first poll, and then only the items added, publish anything.
// The cursor used to keep the last 5,000 ids, so every poll of this feed
// published 1,000 old items again.
func TestFeedCursorLargeFeed(t *testing.T) {
	for _, etag := range []bool{false, true} {
		t.Run(fmt.Sprintf("etag=%v", etag), func(t *testing.T) {
			feed := &bigFeed{n: 6000, etag: etag}
			srv := httptest.NewServer(feed)
			defer srv.Close()
			state, err := OpenState(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			newFeed := func() *Feed { // a new process each time: the cursor is on disk
				f, err := NewFeed(srv.URL+"/feed.xml", testOptions(t, state))
				if err != nil {
					t.Fatal(err)
				}
				return f
			}
			fresh := func(items []Item) int { return len(items) - countDup(items) }
			if n := fresh(pollCommit(t, newFeed())); n != 6000 {
				t.Fatalf("first poll published %d, want 6000", n)
			}
			if n := fresh(pollCommit(t, newFeed())); n != 0 {
				t.Fatalf("second poll published %d, want 0", n)
			}
			feed.extra.Store(2)
			if n := fresh(pollCommit(t, newFeed())); n != 2 {
				t.Fatalf("after 2 new items a poll published %d, want 2", n)
			}
			if n := fresh(pollCommit(t, newFeed())); n != 0 {
				t.Fatalf("fourth poll published %d, want 0", n)
			}
			if etag && feed.answers.Load() != 2 {
				t.Errorf("server answered 304 %d times, want 2 (the unchanged polls)", feed.answers.Load())
			}
		})
	}
}

// Items that share the newest date are told apart by id; an undated item
// by id alone; and an item dated far in the future (rejected downstream)
// neither hides later items nor comes back on every poll.
func TestFeedCursorTiesAndUndated(t *testing.T) {
	var body atomic.Value
	set := func(items ...string) {
		body.Store(`<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>` + strings.Join(items, "") + `</channel></rss>`)
	}
	item := func(id, date string) string {
		d := ""
		if date != "" {
			d = "<pubDate>" + date + "</pubDate>"
		}
		return `<item><guid>https://e.org/` + id + `</guid><description>#t ` + id + `</description>` + d + `</item>`
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(body.Load().(string)))
	}))
	defer srv.Close()
	f, err := NewFeed(srv.URL, testOptions(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	newIDs := func() []string {
		var out []string
		for _, it := range pollCommit(t, f) {
			if !it.Duplicate {
				out = append(out, strings.TrimPrefix(it.Post.ID, "rss:https://e.org/"))
			}
		}
		return out
	}
	const d1 = "Thu, 06 Nov 2025 10:00:00 +0000"
	const far = "Fri, 01 Jan 2100 00:00:00 +0000"
	set(item("a", d1), item("u", ""))
	if got := fmt.Sprint(newIDs()); got != "[u a]" {
		t.Fatalf("first poll new %s, want [u a]", got)
	}
	set(item("b", d1), item("a", d1), item("u", ""), item("future", far))
	if got := fmt.Sprint(newIDs()); got != "[future b]" {
		t.Fatalf("second poll new %s, want [future b]", got)
	}
	set(item("c", "Thu, 06 Nov 2025 10:05:00 +0000"), item("b", d1), item("a", d1), item("u", ""), item("future", far))
	if got := fmt.Sprint(newIDs()); got != "[c]" {
		t.Fatalf("third poll new %s, want [c]: the far date must neither hide c nor come back", got)
	}
}
