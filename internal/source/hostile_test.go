package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"tagpulse/internal/post"
)

// TestFeedHostileServers polls feeds that try to exhaust the poller: each
// poll ends with an error in bounded time and memory and emits nothing.
func TestFeedHostileServers(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	var requests atomic.Int64
	tests := []struct {
		name    string
		handler http.HandlerFunc
		reason  string
		errHas  string
		maxReqs int64
	}{
		{"redirects forever", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, fmt.Sprintf("/loop/%d", requests.Load()), http.StatusFound)
		}, ReasonHTTPStatus, "more than 5 redirects", 6},
		{"redirect to a local file", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		}, ReasonHTTPStatus, "scheme", 1},
		{"body that never finishes", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/rss+xml")
			_, _ = w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>slow</title>`))
			w.(http.Flusher).Flush()
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}, ReasonTimeout, "", 1},
		{"endless body", func(w http.ResponseWriter, r *http.Request) {
			chunk := bytes.Repeat([]byte("<item><title>#spam</title></item>"), 1000)
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, ReasonTooLarge, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requests.Store(0)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				tt.handler(w, r)
			}))
			defer srv.Close()
			opt := testOptions(t, nil)
			opt.Client = NewHTTPClient(500 * time.Millisecond)
			opt.MaxBodyBytes = 1 << 20
			f, err := NewFeed(srv.URL+"/feed.xml", opt)
			if err != nil {
				t.Fatal(err)
			}
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			items, _, err := poll(t, f)
			elapsed := time.Since(start)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatalf("poll succeeded with %d items, want an error", len(items))
			}
			if got := FetchReason(err); got != tt.reason || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q (reason %s), want reason %s saying %q", err, got, tt.reason, tt.errHas)
			}
			if len(items) != 0 {
				t.Errorf("emitted %d items", len(items))
			}
			if elapsed > 5*time.Second {
				t.Errorf("poll took %s", elapsed)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("poll allocated %d MiB", alloc>>20)
			}
			if n := requests.Load(); n > tt.maxReqs {
				t.Errorf("%d requests, want at most %d", n, tt.maxReqs)
			}
		})
	}
}

func TestHostAllowed(t *testing.T) {
	allow := []string{"news.example.org", ".social.example", "*.masto.example", " Feeds.Example.COM "}
	tests := []struct {
		host string
		want bool
	}{
		{"news.example.org", true},
		{"NEWS.example.org.", true},
		{"evil.news.example.org", false},
		{"a.social.example", true},
		{"social.example", false},
		{"x.y.masto.example", true},
		{"feeds.example.com", true},
		{"example.org", false},
		{"news.example.org.evil.test", false},
		{"127.0.0.1", false},
	}
	for _, tt := range tests {
		if got := HostAllowed(tt.host, allow); got != tt.want {
			t.Errorf("HostAllowed(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
	if !HostAllowed("anything.test", nil) {
		t.Error("an empty allowlist must allow every host")
	}
}

// TestSourceAllowHosts checks the allowlist on source URLs and on
// redirects: a listed feed is fetched, an unlisted one refused at start,
// and a redirect off the list refused without a request to it.
func TestSourceAllowHosts(t *testing.T) {
	var offList atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		offList.Add(1)
		_, _ = w.Write(readTestdata(t, "rss.xml"))
	}))
	defer other.Close()
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/away" {
			// "localhost" names the other server by a host not on the list.
			http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1), http.StatusFound)
			return
		}
		_, _ = w.Write(readTestdata(t, "rss.xml"))
	}))
	defer allowed.Close()

	allow := []string{"127.0.0.1"}
	opt := testOptions(t, nil)
	opt.AllowHosts = allow
	opt.Client = NewHTTPClient(2*time.Second, allow...)

	if _, err := NewFeed("https://elsewhere.example/feed.xml", opt); !errors.Is(err, ErrHostNotAllowed) {
		t.Errorf("NewFeed off the list: %v, want ErrHostNotAllowed", err)
	}
	if _, err := NewMastodon("https://elsewhere.example/api/v1/timelines/public", opt); !errors.Is(err, ErrHostNotAllowed) {
		t.Errorf("NewMastodon off the list: %v, want ErrHostNotAllowed", err)
	}
	f, err := NewFeed(allowed.URL+"/feed.xml", opt)
	if err != nil {
		t.Fatal(err)
	}
	if items := pollCommit(t, f); len(items) == 0 {
		t.Error("the listed feed gave no items")
	}
	away, err := NewFeed(allowed.URL+"/away", opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := poll(t, away); !errors.Is(err, ErrHostNotAllowed) {
		t.Errorf("redirect off the list: %v, want ErrHostNotAllowed", err)
	}
	if offList.Load() != 0 {
		t.Errorf("the host off the list got %d requests", offList.Load())
	}
}

// TestFileTenMegabytePosts reads a JSONL archive with a 10 MB line and a
// 10 MB plain-text post between good posts: the big ones are refused as
// too large, every other post is read.
func TestFileTenMegabytePosts(t *testing.T) {
	dir := t.TempDir()
	big := strings.Repeat("#big ", 10<<20/5)
	files := map[string]string{
		"a.jsonl": `{"id":"before","text":"#otan"}` + "\n" + `{"id":"huge","text":"` + big + `"}` + "\n" + `{"id":"after","text":"#nato"}` + "\n",
		"b.txt":   big,
		"c.txt":   "#fine",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := NewFile([]string{dir}, testOptions(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	items := pollCommit(t, f)
	var ok []string
	tooLarge := 0
	for _, it := range items {
		switch {
		case it.Err == nil:
			ok = append(ok, it.Post.Text)
		case errors.Is(it.Err, post.ErrTooLarge):
			tooLarge++
			if len(it.Err.Error()) > 1024 {
				t.Errorf("error of %d bytes echoes the post", len(it.Err.Error()))
			}
		default:
			t.Errorf("unexpected error %v", it.Err)
		}
	}
	if tooLarge != 2 || strings.Join(ok, ",") != "#otan,#nato,#fine" {
		t.Errorf("read %q and %d too large, want #otan,#nato,#fine and 2", ok, tooLarge)
	}
}

// TestWebhookFloods sends what a flood sends: bodies of 10 MB with and
// without a Content-Length, deeply nested JSON, and more requests than the
// rate limit allows. Each is refused with the status a client can act on,
// and a good request right after is still accepted.
func TestWebhookFloods(t *testing.T) {
	d := &recordingDeliver{}
	now := fixedNow
	reg := prometheus.NewPedanticRegistry()
	hook, err := NewWebhook(WebhookConfig{Token: testToken, RateLimit: 1, RateBurst: 3, Now: func() time.Time { return now }},
		d.deliver, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hook.Handler())
	defer srv.Close()
	send := func(body io.Reader, length int64) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+WebhookPath, body)
		req.ContentLength = length
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("request: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	big := `{"id":"big","text":"` + strings.Repeat("x", 10<<20) + `"}`
	deep := `{"id":"deep","text":"t","x":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`
	steps := []struct {
		name     string
		body     io.Reader
		length   int64
		wantCode int
		errHas   string
	}{
		{"10 MB with Content-Length", strings.NewReader(big), int64(len(big)), 413, "body over"},
		{"10 MB chunked", io.MultiReader(strings.NewReader(big)), -1, 413, "body over"},
		{"deeply nested", strings.NewReader(deep), int64(len(deep)), 400, "invalid JSON"},
		{"over the rate limit", strings.NewReader(`{"id":"late","text":"#a"}`), -1, 429, "rate limit"},
	}
	for _, s := range steps {
		resp, body := send(s.body, s.length)
		if resp.StatusCode != s.wantCode || !strings.Contains(body, s.errHas) {
			t.Errorf("%s: %d %s, want %d saying %q", s.name, resp.StatusCode, body, s.wantCode, s.errHas)
		}
		if s.wantCode == 429 && resp.Header.Get("Retry-After") != "1" {
			t.Errorf("%s: Retry-After %q, want 1", s.name, resp.Header.Get("Retry-After"))
		}
	}
	// A second later the client has a token again, and nothing was lost.
	now = now.Add(time.Second)
	if resp, body := send(strings.NewReader(`{"id":"good","text":"#otan"}`), -1); resp.StatusCode != 202 {
		t.Fatalf("good request after the flood: %d %s, want 202", resp.StatusCode, body)
	}
	if len(d.got) != 1 || d.got[0].ID != "good" {
		t.Errorf("delivered %+v, want only the good post", d.got)
	}
	if got := testutil.ToFloat64(hook.m.requests.WithLabelValues("429")); got != 1 {
		t.Errorf("requests{code=429} = %v, want 1", got)
	}
}

// TestWebhookRateLimitPerClient checks that the buckets are per client: one
// client using up its burst does not stop another.
func TestWebhookRateLimitPerClient(t *testing.T) {
	now := fixedNow
	hook, err := NewWebhook(WebhookConfig{Token: testToken, RateLimit: 2, RateBurst: 2, Now: func() time.Time { return now }},
		(&recordingDeliver{}).deliver, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	send := func(client string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, WebhookPath, strings.NewReader(`{"id":"a","text":"#a"}`))
		req.RemoteAddr = client + ":5555"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		hook.ServeHTTP(rec, req)
		return rec
	}
	for i, want := range []int{202, 202, 429} {
		if got := send("192.0.2.1").Code; got != want {
			t.Errorf("client A request %d: %d, want %d", i+1, got, want)
		}
	}
	if got := send("192.0.2.2").Code; got != 202 {
		t.Errorf("client B after A's burst: %d, want 202", got)
	}
	now = now.Add(500 * time.Millisecond)
	if got := send("192.0.2.1").Code; got != 202 {
		t.Errorf("client A half a second later: %d, want 202 (2 requests a second)", got)
	}
}

// TestFeedEntityExpansionBomb serves a "billion laughs" feed, whose nine
// nested entities expand to 3 GB: the parser does not expand custom
// entities, so the poll ends at once, in little memory, with short texts.
func TestFeedEntityExpansionBomb(t *testing.T) {
	srv := serveFile(t, "billion-laughs.xml", "application/rss+xml")
	f, err := NewFeed(srv.URL+"/feed.xml", testOptions(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	items, _, err := poll(t, f)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if elapsed > 2*time.Second {
		t.Errorf("poll took %s", elapsed)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("poll allocated %d MiB", alloc>>20)
	}
	if err != nil && FetchReason(err) != ReasonParse {
		t.Errorf("error %v (reason %s), want success or a parse error", err, FetchReason(err))
	}
	for _, it := range items {
		if len(it.Post.Text) > 1024 || strings.Contains(it.Post.Text, "lollol") {
			t.Errorf("item text of %d bytes holds expanded entities: %.80q", len(it.Post.Text), it.Post.Text)
		}
	}
}
