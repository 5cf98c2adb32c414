package source

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tagpulse/internal/post"
)

// fakeTimeline serves the testdata pages the way Mastodon pages: without
// min_id the newest page, with min_id the statuses after it.
type fakeTimeline struct {
	mu      sync.Mutex
	queries []string
	pages   map[string][]byte // by min_id ("" for none)
	header  http.Header
	status  int
}

func (f *fakeTimeline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, r.URL.RawQuery)
	for k, v := range f.header {
		w.Header()[k] = v
	}
	if f.status != 0 {
		w.WriteHeader(f.status)
		return
	}
	body, ok := f.pages[r.URL.Query().Get("min_id")]
	if !ok {
		body = []byte("[]")
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func TestMastodon(t *testing.T) {
	tl := &fakeTimeline{pages: map[string][]byte{
		"":                   readTestdata(t, "mastodon-page1.json"),
		"110000000000000003": readTestdata(t, "mastodon-page2.json"),
	}}
	srv := httptest.NewServer(tl)
	defer srv.Close()
	state, err := OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL + "/api/v1/timelines/tag/otan?any[]=nato"
	newSource := func() *Mastodon {
		m, err := NewMastodon(url, testOptions(t, state))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	first := pollCommit(t, newSource())
	wantIDs := []string{
		"mastodon:https://social.example/users/ann/statuses/110000000000000001",
		"mastodon:https://social.example/users/ann/statuses/110000000000000002",
		"mastodon:https://social.example/users/bob/statuses/110000000000000003",
	}
	if got := ids(first); !slices.Equal(got, wantIDs) {
		t.Fatalf("first poll ids %v, want %v (oldest first)", got, wantIDs)
	}
	want := post.Post{ID: wantIDs[2], Text: "Third #OTAN", CreatedAt: time.Date(2025, 11, 6, 10, 3, 0, 0, time.UTC),
		Source: "mastodon", Author: "bob@other.example", URL: "https://social.example/@bob/110000000000000003", Lang: "fr",
		// The instance's own tags, with its leading '_' and middle dot;
		// the one with a space and the empty one are left out.
		Tags: []string{"otan", "_sommet·otan"}}
	if !reflect.DeepEqual(first[2].Post, want) {
		t.Errorf("status\n got %+v\nwant %+v", first[2].Post, want)
	}

	// A restart continues after the cursor with min_id.
	second := pollCommit(t, newSource())
	if len(second) != 2 {
		t.Fatalf("second poll: %d items, want 2", len(second))
	}
	if !errors.Is(second[0].Err, post.ErrWrongType) {
		t.Errorf("status with numeric content: err %v, want wrong type", second[0].Err)
	}
	if b := second[1].Post; b.ID != wantIDs[1] || b.Text != "Second #nato & #NIF2025" || b.Author != "ann@social.example" || !slices.Equal(b.Tags, []string{"nato", "nif2025"}) {
		t.Errorf("boost: got %+v, want the boosted post under its own id %s, with its author and tags", second[1].Post, wantIDs[1])
	}
	third := pollCommit(t, newSource())
	if len(third) != 0 {
		t.Errorf("third poll emitted %d items, want none", len(third))
	}
	wantQueries := []string{"any%5B%5D=nato&limit=40", "any%5B%5D=nato&limit=40&min_id=110000000000000003", "any%5B%5D=nato&limit=40&min_id=110000000000000005"}
	if !slices.Equal(tl.queries, wantQueries) {
		t.Errorf("queries\n got %q\nwant %q", tl.queries, wantQueries)
	}
}

func TestMastodonRateLimits(t *testing.T) {
	t.Run("429 with Retry-After", func(t *testing.T) {
		tl := &fakeTimeline{status: http.StatusTooManyRequests, header: http.Header{"Retry-After": {"30"}}}
		srv := httptest.NewServer(tl)
		defer srv.Close()
		m, _ := NewMastodon(srv.URL, testOptions(t, nil))
		_, _, err := poll(t, m)
		if FetchReason(err) != ReasonRateLimited || RetryAfter(err) != 30*time.Second {
			t.Fatalf("err %v (reason %q, retry after %s), want rate_limited after 30s", err, FetchReason(err), RetryAfter(err))
		}
	})
	t.Run("429 with X-RateLimit-Reset", func(t *testing.T) {
		reset := fixedNow.Add(5 * time.Minute).Format("2006-01-02T15:04:05.000Z")
		tl := &fakeTimeline{status: http.StatusTooManyRequests, header: http.Header{"X-Ratelimit-Reset": {reset}}}
		srv := httptest.NewServer(tl)
		defer srv.Close()
		m, _ := NewMastodon(srv.URL, testOptions(t, nil))
		_, _, err := poll(t, m)
		if RetryAfter(err) != 5*time.Minute {
			t.Fatalf("retry after %s, want 5m", RetryAfter(err))
		}
	})
	t.Run("used-up limit on success asks to wait", func(t *testing.T) {
		reset := fixedNow.Add(90 * time.Second).Format(time.RFC3339)
		tl := &fakeTimeline{
			pages:  map[string][]byte{"": readTestdata(t, "mastodon-page1.json")},
			header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {reset}},
		}
		srv := httptest.NewServer(tl)
		defer srv.Close()
		m, _ := NewMastodon(srv.URL, testOptions(t, nil))
		items, res, err := poll(t, m)
		if err != nil || len(items) != 3 {
			t.Fatalf("poll: %d items, err %v; want 3 items", len(items), err)
		}
		if res.Wait != 90*time.Second {
			t.Errorf("wait %s, want 1m30s", res.Wait)
		}
	})
	// A server asking for a wait of years (999999999 s, a reset in 2100)
	// pauses the source for MaxRetryAfter, and the error says so.
	for name, hdr := range map[string]http.Header{
		"429 with a huge Retry-After":      {"Retry-After": {"999999999"}},
		"429 with Retry-After past int64":  {"Retry-After": {"99999999999999999999"}},
		"429 with a far X-RateLimit-Reset": {"X-Ratelimit-Reset": {"2100-01-01T00:00:00.000Z"}},
		"429 with a far HTTP-date":         {"Retry-After": {"Fri, 01 Jan 2100 00:00:00 GMT"}},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(&fakeTimeline{status: http.StatusTooManyRequests, header: hdr})
			defer srv.Close()
			m, _ := NewMastodon(srv.URL, testOptions(t, nil))
			_, _, err := poll(t, m)
			if RetryAfter(err) != MaxRetryAfter || !strings.Contains(fmt.Sprint(err), "capped") {
				t.Fatalf("err %v, retry after %s; want %s, capped", err, RetryAfter(err), MaxRetryAfter)
			}
		})
	}
	t.Run("used-up limit with a far reset waits the cap", func(t *testing.T) {
		tl := &fakeTimeline{
			pages:  map[string][]byte{"": readTestdata(t, "mastodon-page1.json")},
			header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"2100-01-01T00:00:00Z"}},
		}
		srv := httptest.NewServer(tl)
		defer srv.Close()
		m, _ := NewMastodon(srv.URL, testOptions(t, nil))
		if _, res, err := poll(t, m); err != nil || res.Wait != MaxRetryAfter {
			t.Fatalf("wait %s, err %v; want %s", res.Wait, err, MaxRetryAfter)
		}
	})
	t.Run("garbage body", func(t *testing.T) {
		srv := serveFile(t, "error.html", "text/html")
		m, _ := NewMastodon(srv.URL, testOptions(t, nil))
		if _, _, err := poll(t, m); FetchReason(err) != ReasonParse {
			t.Fatalf("err %v, want a parse error", err)
		}
	})
}

func TestIDAfter(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"2", "1", true}, {"10", "9", true}, {"9", "10", false}, {"5", "5", false}, {"1", "", true}, {"", "1", false},
	}
	for _, tt := range tests {
		if got := idAfter(tt.a, tt.b); got != tt.want {
			t.Errorf("idAfter(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// A status and its boost in one poll are one post: the boost is a
// duplicate, whatever the order.
func TestMastodonBoostInSamePoll(t *testing.T) {
	orig := `{"id":"101","uri":"https://social.example/users/ann/statuses/101","content":"<p>#otan</p>","account":{"acct":"ann"},"tags":[{"name":"otan"}]}`
	boost := `{"id":"102","uri":"https://social.example/users/bob/statuses/102/activity","content":"","account":{"acct":"bob"},"reblog":` + orig + `}`
	srv := httptest.NewServer(&fakeTimeline{pages: map[string][]byte{"": []byte("[" + boost + "," + orig + "]")}})
	defer srv.Close()
	m, err := NewMastodon(srv.URL, testOptions(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	items := pollCommit(t, m)
	id := "mastodon:https://social.example/users/ann/statuses/101"
	if len(items) != 2 || items[0].Post.ID != id || items[0].Duplicate || items[1].Post.ID != id || !items[1].Duplicate ||
		items[1].Post.Author != "ann" {
		t.Errorf("items %+v: want the status, then its boost as a duplicate of it", items)
	}
}

// A status's visibility and its account's consent reach the post: the
// runner skips what is not public; a post whose author has not opted in
// to indexing (indexable true, noindex not true) is marked so, and so is
// a bot's.
func TestMastodonConsent(t *testing.T) {
	srv := httptest.NewServer(&fakeTimeline{pages: map[string][]byte{"": readTestdata(t, "mastodon-signals.json")}})
	defer srv.Close()
	m, err := NewMastodon(srv.URL+"/api/v1/timelines/tag/otan", testOptions(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range pollCommit(t, m) {
		if it.Err != nil {
			t.Fatalf("item error %v", it.Err)
		}
		got[it.Post.Author] = fmt.Sprintf("visibility=%q indexable=%v", it.Post.Visibility, it.Post.AllowsIndexing())
		if it.Post.Bot {
			got[it.Post.Author] += " bot"
		}
	}
	tests := []struct{ author, want string }{
		{"abe", `visibility="" indexable=true bot`}, // the account is a bot
		{"ann", `visibility="" indexable=false`},
		{"bob", `visibility="" indexable=false`},             // noindex
		{"cat", `visibility="unlisted" indexable=true`},      // skipped by the runner
		{"dan", `visibility="private" indexable=true`},       // skipped by the runner
		{"eve", `visibility="direct" indexable=true`},        // skipped by the runner
		{"fay", `visibility="private" indexable=true`},       // a fork's scope: not public
		{"hal@old.example", `visibility="" indexable=false`}, // boosted: its own author's consent, none given
	}
	for _, tt := range tests {
		t.Run(tt.author, func(t *testing.T) {
			if got[tt.author] != tt.want {
				t.Errorf("%s: %s, want %s", tt.author, got[tt.author], tt.want)
			}
		})
	}
	if len(got) != len(tests) {
		t.Errorf("posts of %d authors, want %d: %v", len(got), len(tests), got)
	}
}
