package source

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tagpulse/internal/post"
)

func TestFeedRSS(t *testing.T) {
	srv := serveFile(t, "rss.xml", "application/rss+xml")
	f, err := NewFeed(srv.URL+"/feed.xml", testOptions(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	items := pollCommit(t, f)
	if len(items) != 5 {
		t.Fatalf("got %d items, want 5: %+v", len(items), items)
	}
	// Oldest first: the feed lists the newest item first.
	slices.Reverse(items)
	first := items[0].Post
	want := post.Post{
		ID:        "rss:https://news.example.org/2025/otan-sommet",
		Text:      "Sommet de l'OTAN\n\nLe sommet #OTAN s'ouvre & parle de #Réarmement. #NIF2025",
		CreatedAt: time.Date(2025, 11, 6, 10, 0, 0, 0, time.UTC),
		Source:    "rss",
		URL:       "https://news.example.org/2025/otan-sommet",
		Lang:      "fr",
		Author:    "Rédaction",
	}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("first item\n got %+v\nwant %+v", first, want)
	}
	tests := []struct {
		name, id string
	}{
		{"bare GUID is qualified with the feed URL", "rss:" + srv.URL + "/feed.xml#42"},
		{"no GUID: the link", "rss:https://news.example.org/2025/link-only"},
		{"neither: a content hash", post.ContentID("rss", srv.URL+"/feed.xml\n\nNo id, no link, only #content")},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := items[i+1].Post.ID; got != tt.id {
				t.Errorf("id %q, want %q", got, tt.id)
			}
		})
	}
	if got := items[3].Post.CreatedAt; !got.Equal(fixedNow) {
		t.Errorf("undated item created_at %v, want the time of ingestion %v", got, fixedNow)
	}
	if got := items[4].Post.Text; got != "" {
		t.Errorf("empty item text %q, want empty (the runner rejects it)", got)
	}
}

func TestFeedAtom(t *testing.T) {
	srv := serveFile(t, "atom.xml", "application/atom+xml")
	f, err := NewFeed(srv.URL, testOptions(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	items := pollCommit(t, f)
	if len(items) != 2 {
		t.Fatalf("got %d items, want 2", len(items))
	}
	tests := []struct {
		got, want post.Post
	}{
		{items[0].Post, post.Post{ID: "rss:urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6b", Text: "First entry\n\nOnly updated, #summary",
			CreatedAt: time.Date(2025, 11, 5, 8, 0, 0, 0, time.UTC), Source: "rss", URL: "https://blog.example.org/1", Lang: "en"}},
		{items[1].Post, post.Post{ID: "rss:urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a", Text: "Second entry\n\nMore about #Defence and #OTAN",
			CreatedAt: time.Date(2025, 11, 6, 11, 0, 0, 0, time.UTC), Source: "rss", URL: "https://blog.example.org/2", Lang: "en", Author: "Ada"}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("\n got %+v\nwant %+v", tt.got, tt.want)
		}
	}
}

// A feed whose items were all seen emits them as duplicates; with an
// ETag the server answers 304 and nothing is parsed at all.
func TestFeedCursor(t *testing.T) {
	body := readTestdata(t, "atom.xml")
	var requests, notModified atomic.Int32
	useETag := atomic.Bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if useETag.Load() {
			if r.Header.Get("If-None-Match") == `"v1"` {
				notModified.Add(1)
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"v1"`)
		}
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	state, err := OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	newFeed := func() *Feed {
		f, err := NewFeed(srv.URL, testOptions(t, state))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if items := pollCommit(t, newFeed()); countDup(items) != 0 || len(items) != 2 {
		t.Fatalf("first poll: %d items, %d duplicates; want 2 new", len(items), countDup(items))
	}
	// A new process (same state dir) sees the same items as duplicates.
	if items := pollCommit(t, newFeed()); countDup(items) != 2 {
		t.Fatalf("second poll: %d duplicates of %d, want 2", countDup(items), len(items))
	}
	useETag.Store(true)
	f := newFeed()
	pollCommit(t, f) // learns the ETag
	if items := pollCommit(t, f); len(items) != 0 {
		t.Fatalf("conditional poll emitted %d items, want none", len(items))
	}
	if notModified.Load() != 1 {
		t.Errorf("server answered 304 %d times, want 1", notModified.Load())
	}
}

// Without a commit (the posts were not published), the next poll emits the
// same items as new again.
func TestFeedUncommittedPollRepeats(t *testing.T) {
	srv := serveFile(t, "atom.xml", "application/atom+xml")
	f, err := NewFeed(srv.URL, testOptions(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := poll(t, f); err != nil {
		t.Fatal(err)
	}
	items := pollCommit(t, f)
	if countDup(items) != 0 {
		t.Fatalf("%d duplicates after an uncommitted poll, want 0", countDup(items))
	}
}

func countDup(items []Item) int {
	n := 0
	for _, it := range items {
		if it.Duplicate {
			n++
		}
	}
	return n
}

func TestFeedBroken(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	tests := []struct {
		name    string
		handler http.HandlerFunc
		reason  string
	}{
		{"500", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }, ReasonHTTPStatus},
		{"404", func(w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) }, ReasonHTTPStatus},
		{"garbage XML", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(readTestdata(t, "garbage.xml")) }, ReasonParse},
		{"HTML error page with 200", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write(readTestdata(t, "error.html"))
		}, ReasonParse},
		{"body over the limit", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("<rss>" + strings.Repeat("x", 2048) + "</rss>"))
		}, ReasonTooLarge},
		{"hanging server", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}, ReasonTimeout},
		{"429 with Retry-After", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		}, ReasonRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			opt := testOptions(t, nil)
			opt.Client = NewHTTPClient(200 * time.Millisecond)
			opt.MaxBodyBytes = 1024
			f, err := NewFeed(srv.URL, opt)
			if err != nil {
				t.Fatal(err)
			}
			items, _, err := poll(t, f)
			if err == nil {
				t.Fatalf("poll succeeded with %d items, want an error", len(items))
			}
			if got := FetchReason(err); got != tt.reason {
				t.Errorf("reason %q (%v), want %q", got, err, tt.reason)
			}
			if tt.reason == ReasonRateLimited && RetryAfter(err) != 2*time.Minute {
				t.Errorf("retry after %s, want 2m", RetryAfter(err))
			}
			if len(items) != 0 {
				t.Errorf("emitted %d items from a broken feed", len(items))
			}
		})
	}
}

func TestSourceURLsMustBeHTTP(t *testing.T) {
	for _, u := range []string{"file:///etc/passwd", "ftp://example.org/feed", "/local/path", "http://"} {
		if _, err := NewFeed(u, Options{}); err == nil {
			t.Errorf("NewFeed(%q) accepted a non-HTTP URL", u)
		}
		if _, err := NewMastodon(u, Options{}); err == nil {
			t.Errorf("NewMastodon(%q) accepted a non-HTTP URL", u)
		}
	}
}

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in      string
		want    Spec
		wantErr bool
	}{
		{in: "rss=https://example.org/feed.xml", want: Spec{Kind: "rss", Location: "https://example.org/feed.xml"}},
		{in: "mastodon@2m=https://m.example/api/v1/timelines/tag/otan?any=1", want: Spec{Kind: "mastodon", Location: "https://m.example/api/v1/timelines/tag/otan?any=1", Interval: 2 * time.Minute}},
		{in: "file=archive/a=b.jsonl", want: Spec{Kind: "file", Location: "archive/a=b.jsonl"}},
		{in: "rss", wantErr: true},
		{in: "rss=", wantErr: true},
		{in: "gopher=x", wantErr: true},
		{in: "rss=file:///etc/passwd", wantErr: true},
		{in: "rss@soon=https://example.org/", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSpec(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFetchReasonUnwraps(t *testing.T) {
	err := errors.Join(errors.New("x"), &FetchError{Reason: ReasonParse, Err: errors.New("y")})
	if FetchReason(err) != ReasonParse {
		t.Errorf("FetchReason(%v) = %q, want parse", err, FetchReason(err))
	}
}

// TestHTMLAlwaysBecomesText builds a feed and a timeline with no options
// at all: their HTML still becomes plain text, since no setting can skip
// that step (before, Options without ToText published raw markup).
func TestHTMLAlwaysBecomesText(t *testing.T) {
	feed := serveFile(t, "rss.xml", "application/rss+xml")
	tl := httptest.NewServer(&fakeTimeline{pages: map[string][]byte{"": readTestdata(t, "mastodon-page1.json")}})
	defer tl.Close()
	f, err := NewFeed(feed.URL+"/feed.xml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMastodon(tl.URL+"/api/v1/timelines/public", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []Source{f, m} {
		items := pollCommit(t, src)
		if len(items) == 0 {
			t.Fatalf("%s: no items", src.Name())
		}
		for _, it := range items {
			if strings.ContainsAny(it.Post.Text, "<>") || strings.Contains(it.Post.Text, "&amp;") {
				t.Errorf("%s: text %q still holds markup", src.Name(), it.Post.Text)
			}
		}
	}
}
