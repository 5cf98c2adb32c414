package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"tagpulse/internal/hashtag"
	"tagpulse/internal/post"
	"tagpulse/internal/source"
)

// fakePublisher records what it is asked to publish; failAfter makes it
// refuse everything from the n-th message on. It is a unit-test fake for the
// runner's bookkeeping; the Kafka path is tested against the real broker.
type fakePublisher struct {
	mu        sync.Mutex
	got       []post.Message
	calls     int
	failAfter int // 0: never fail
}

func (f *fakePublisher) Publish(_ context.Context, msgs []post.Message) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	n := len(msgs)
	if f.failAfter > 0 && len(f.got)+n > f.failAfter {
		n = max(f.failAfter-len(f.got), 0)
	}
	f.got = append(f.got, msgs[:n]...)
	if n < len(msgs) {
		return n, errors.New("broker gone")
	}
	return n, nil
}

// words is a stand-in extractor: every word starting with # is a tag, and
// so is every known tag.
func words(out []post.Hashtag, text string, known []string) ([]post.Hashtag, hashtag.Dropped) {
	seen := map[string]bool{}
	for _, w := range append(strings.Fields(text), known...) {
		if strings.HasPrefix(w, "#") && len(w) > 1 && !seen[strings.ToLower(w[1:])] {
			seen[strings.ToLower(w[1:])] = true
			out = append(out, post.Hashtag{Tag: strings.ToLower(w[1:]), Display: w[1:]})
		}
	}
	return out, hashtag.Dropped{}
}

// staticSource emits fixed items; commits are counted.
type staticSource struct {
	name    string
	items   []source.Item
	err     error
	commits int
	polls   int
	mu      sync.Mutex
}

func (s *staticSource) Name() string { return s.name }
func (s *staticSource) Poll(ctx context.Context, emit source.Emit) (source.Result, error) {
	s.mu.Lock()
	s.polls++
	s.mu.Unlock()
	if s.err != nil {
		return source.Result{}, s.err
	}
	for _, it := range s.items {
		if err := emit(it); err != nil {
			return source.Result{}, err
		}
	}
	return source.Result{Commit: func() error { s.mu.Lock(); s.commits++; s.mu.Unlock(); return nil }}, nil
}

func (s *staticSource) count() (polls, commits int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls, s.commits
}

var t0 = time.Date(2025, 11, 6, 10, 0, 0, 0, time.UTC)

func newTestRunner(t *testing.T, pub Publisher, cfg Config) (*Runner, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	r := New(cfg, pub, Extractor{Version: 3, AppendDistinct: words}, reg, slog.New(slog.DiscardHandler))
	r.now = func() time.Time { return t0 }
	return r, reg
}

func item(id, text string) source.Item {
	return source.Item{Post: post.Post{ID: id, Text: text, CreatedAt: t0, Source: "rss"}}
}

func TestPoll(t *testing.T) {
	pub := &fakePublisher{}
	cfg := DefaultConfig()
	cfg.MaxTextBytes = 25
	cfg.BatchSize = 2
	r, _ := newTestRunner(t, pub, cfg)
	src := &staticSource{name: "rss-1", items: []source.Item{
		item("a", "#OTAN and #otan #Nato"),
		{Duplicate: true, Post: post.Post{ID: "old"}},
		item("b", "no tags"),
		item("c", ""),
		item("d", strings.Repeat("x", 26)),
		item("e", "bad \xff"),
		{Err: fmt.Errorf("line 3: %w", post.ErrWrongType)},
		{Post: post.Post{ID: "f", Text: "#late"}}, // no created_at
	}}
	_, stats, err := r.Poll(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Read: 8, Published: 3, Duplicates: 1, Hashtags: 3,
		Rejected: map[string]int{"missing_field": 1, "too_large": 1, "invalid_utf8": 1, "wrong_type": 1}}
	if len(stats.Rejections) != 4 || stats.Rejections[3].String() != "line 3: wrong type" {
		t.Errorf("rejections kept %q, want the 4, the last one line 3: wrong type", stats.Rejections)
	}
	stats.Rejections = nil
	if fmt.Sprint(stats) != fmt.Sprint(want) {
		t.Errorf("stats\n got %+v\nwant %+v", stats, want)
	}
	if _, commits := src.count(); commits != 1 {
		t.Errorf("%d commits, want 1", commits)
	}
	if pub.calls != 2 {
		t.Errorf("%d publish calls, want 2 (batch size 2, then the rest)", pub.calls)
	}
	// Publish calls run concurrently: find the messages by id.
	got := map[string]post.Message{}
	for _, m := range pub.got {
		got[m.ID] = m
	}
	if first := got["a"]; first.ExtractorVersion != 3 || len(first.Hashtags) != 2 || first.Hashtags[0] != (post.Hashtag{Tag: "otan", Display: "OTAN"}) {
		t.Errorf("first message %+v: want extractor 3, hashtags otan (OTAN), nato", first)
	}
	if got["b"].Hashtags == nil {
		t.Error("post without tags has nil hashtags; want [] so the JSON carries an empty array")
	}
	if !got["f"].CreatedAt.Equal(t0) {
		t.Errorf("created_at %v, want the ingestion time %v", got["f"].CreatedAt, t0)
	}

	tests := []struct {
		metric prometheus.Collector
		want   float64
	}{
		{r.m.fetched.WithLabelValues("rss-1"), 8},
		{r.m.published.WithLabelValues("rss-1"), 3},
		{r.m.duplicate.WithLabelValues("rss-1"), 1},
		{r.m.rejected.WithLabelValues("rss-1", "too_large"), 1},
		{r.m.rejected.WithLabelValues("rss-1", "invalid_json"), 0},
		{r.m.hashtags.WithLabelValues("rss-1"), 3},
		{r.m.up.WithLabelValues("rss-1"), 1},
		{r.m.lastSuccess.WithLabelValues("rss-1"), float64(t0.Unix())},
	}
	for i, tt := range tests {
		if got := testutil.ToFloat64(tt.metric); got != tt.want {
			t.Errorf("metric %d = %v, want %v", i, got, tt.want)
		}
	}
}

// When Kafka refuses posts, the poll fails and the cursor is not committed,
// so the next poll offers the same posts again.
func TestPollPublishFailureKeepsCursor(t *testing.T) {
	pub := &fakePublisher{failAfter: 1}
	r, _ := newTestRunner(t, pub, DefaultConfig())
	src := &staticSource{name: "file", items: []source.Item{item("a", "#x"), item("b", "#y")}}
	_, stats, err := r.Poll(context.Background(), src)
	if err == nil {
		t.Fatal("poll succeeded although Kafka refused a post")
	}
	if _, commits := src.count(); commits != 0 {
		t.Errorf("cursor committed %d times after a failed publish", commits)
	}
	if stats.Published != 1 || stats.Failed != 1 {
		t.Errorf("stats %+v, want 1 published, 1 failed", stats)
	}
	if got := testutil.ToFloat64(r.m.fetchErrors.WithLabelValues("file", "other")); got != 1 {
		t.Errorf("fetch errors = %v, want 1", got)
	}
}

// gatedPublisher holds every publish call until want calls are in flight
// at once (or a second has passed), then answers them all; calls whose
// messages include the id fail are refused. It records the most calls it
// saw in flight and how many have returned.
type gatedPublisher struct {
	fail string
	n    int

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	returned    int
	published   []string
	all         chan struct{}
}

func newGatedPublisher(n int, fail string) *gatedPublisher {
	return &gatedPublisher{n: n, fail: fail, all: make(chan struct{})}
}

func (g *gatedPublisher) Publish(ctx context.Context, msgs []post.Message) (int, error) {
	g.mu.Lock()
	g.inFlight++
	g.maxInFlight = max(g.maxInFlight, g.inFlight)
	if g.inFlight == g.n {
		close(g.all)
	}
	g.mu.Unlock()
	select {
	case <-g.all:
	case <-time.After(time.Second):
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight--
	g.returned++
	for _, m := range msgs {
		if m.ID == g.fail {
			return 0, errors.New("broker gone")
		}
	}
	for _, m := range msgs {
		g.published = append(g.published, m.ID)
	}
	return len(msgs), nil
}

func (g *gatedPublisher) stats() (maxInFlight, returned int, published []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.maxInFlight, g.returned, append([]string(nil), g.published...)
}

// commitCheckSource is a staticSource whose commit records how many
// publish calls had returned by then.
type commitCheckSource struct {
	staticSource
	pub         *gatedPublisher
	returnedAt  int
	commitCalls int
}

func (s *commitCheckSource) Poll(ctx context.Context, emit source.Emit) (source.Result, error) {
	res, err := s.staticSource.Poll(ctx, emit)
	if res.Commit != nil {
		res.Commit = func() error {
			_, s.returnedAt, _ = s.pub.stats()
			s.commitCalls++
			return nil
		}
	}
	return res, err
}

// With several publish calls in flight, the cursor is committed only once
// every call has returned, and not at all when one of them failed, however
// the others fared.
func TestPollPipelined(t *testing.T) {
	tests := []struct {
		name          string
		fail          string // id of a post Kafka refuses; "" = none
		wantPublished int
		wantCommits   int
	}{
		{"all acknowledged", "", 8, 1},
		{"second of four in-flight calls fails", "c", 6, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := newGatedPublisher(4, tt.fail)
			cfg := DefaultConfig()
			cfg.BatchSize = 2
			cfg.PublishInFlight = 4
			r, _ := newTestRunner(t, pub, cfg)
			src := &commitCheckSource{pub: pub, staticSource: staticSource{name: "file"}}
			for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
				src.items = append(src.items, item(id, "#"+id))
			}
			_, stats, err := r.Poll(context.Background(), src)
			if (err != nil) != (tt.fail != "") {
				t.Fatalf("poll error %v, want an error: %v", err, tt.fail != "")
			}
			maxInFlight, returned, published := pub.stats()
			if maxInFlight != 4 {
				t.Errorf("at most %d publish calls in flight, want 4", maxInFlight)
			}
			if returned != 4 {
				t.Errorf("%d publish calls returned before Poll did, want 4", returned)
			}
			if src.commitCalls != tt.wantCommits {
				t.Errorf("%d commits, want %d", src.commitCalls, tt.wantCommits)
			}
			if src.commitCalls > 0 && src.returnedAt != 4 {
				t.Errorf("cursor committed when %d of 4 publish calls had returned", src.returnedAt)
			}
			if len(published) != tt.wantPublished || stats.Published != tt.wantPublished || stats.Failed != 8-tt.wantPublished {
				t.Errorf("published %v, stats %+v; want %d published, %d failed", published, stats, tt.wantPublished, 8-tt.wantPublished)
			}
			if got := testutil.ToFloat64(r.m.published.WithLabelValues("file")); got != float64(tt.wantPublished) {
				t.Errorf("published metric %v, want %d", got, tt.wantPublished)
			}
			if got := testutil.ToFloat64(r.m.hashtags.WithLabelValues("file")); got != float64(tt.wantPublished) {
				t.Errorf("hashtags metric %v, want %d (acknowledged posts only)", got, tt.wantPublished)
			}
		})
	}
}

// A poll cancelled mid-way (SIGTERM) still publishes, and waits for, what
// the source handed over, and does not commit the cursor.
func TestPollCancelledFlushesInFlight(t *testing.T) {
	pub := &fakePublisher{}
	cfg := DefaultConfig()
	cfg.BatchSize = 2
	r, _ := newTestRunner(t, pub, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &cancellingSource{cancel: cancel, ids: []string{"a", "b", "c", "d", "e"}}
	_, stats, err := r.Poll(ctx, src)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if len(pub.got) != 5 || stats.Published != 5 {
		t.Errorf("published %d posts (stats %d) after shutdown, want all 5 handed over", len(pub.got), stats.Published)
	}
	if src.committed {
		t.Error("cursor committed by a cancelled poll")
	}
}

// cancellingSource emits its posts, then cancels the poll's context and
// fails with it, as a source does on SIGTERM.
type cancellingSource struct {
	cancel    context.CancelFunc
	ids       []string
	committed bool
}

func (s *cancellingSource) Name() string { return "file" }
func (s *cancellingSource) Poll(ctx context.Context, emit source.Emit) (source.Result, error) {
	for _, id := range s.ids {
		if err := emit(item(id, "#"+id)); err != nil {
			return source.Result{}, err
		}
	}
	s.cancel()
	return source.Result{Commit: func() error { s.committed = true; return nil }}, ctx.Err()
}

// Deliver with several calls in flight answers only once all are
// acknowledged, and fails when any of them fails.
func TestDeliverPipelined(t *testing.T) {
	for _, fail := range []string{"", "c"} {
		t.Run("fail="+fail, func(t *testing.T) {
			pub := newGatedPublisher(3, fail)
			cfg := DefaultConfig()
			cfg.BatchSize = 2
			r, _ := newTestRunner(t, pub, cfg)
			var items []source.Item
			for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
				items = append(items, item(id, "#"+id))
			}
			_, err := r.Deliver(context.Background(), "webhook", items)
			if (err != nil) != (fail != "") {
				t.Fatalf("Deliver: %v", err)
			}
			maxInFlight, returned, _ := pub.stats()
			if maxInFlight != 3 || returned != 3 {
				t.Errorf("%d calls in flight at most, %d returned before Deliver did; want 3 and 3", maxInFlight, returned)
			}
		})
	}
}

func TestDeliverIsAllOrNothing(t *testing.T) {
	pub := &fakePublisher{}
	r, _ := newTestRunner(t, pub, DefaultConfig())
	_, err := r.Deliver(context.Background(), "webhook", []source.Item{item("a", "#x"), item("b", "")})
	if !errors.Is(err, post.ErrMissingField) {
		t.Fatalf("err %v, want missing field", err)
	}
	if len(pub.got) != 0 {
		t.Fatalf("published %d posts of a request with an invalid one", len(pub.got))
	}
	if _, err := r.Deliver(context.Background(), "webhook", []source.Item{item("a", "#x"), item("b", "#y")}); err != nil {
		t.Fatal(err)
	}
	if len(pub.got) != 2 || testutil.ToFloat64(r.m.published.WithLabelValues("webhook")) != 2 {
		t.Errorf("published %d, metric %v; want 2", len(pub.got), testutil.ToFloat64(r.m.published.WithLabelValues("webhook")))
	}
}

// One source failing on every poll neither stops nor slows the others.
func TestRunFailingSourceDoesNotStopOthers(t *testing.T) {
	pub := &fakePublisher{}
	cfg := DefaultConfig()
	cfg.Interval = 10 * time.Millisecond
	cfg.BackoffMin, cfg.BackoffMax = 5*time.Millisecond, 20*time.Millisecond
	r, _ := newTestRunner(t, pub, cfg)
	bad := &staticSource{name: "rss-1", err: &source.FetchError{Reason: source.ReasonHTTPStatus, Err: errors.New("HTTP 500")}}
	good := &staticSource{name: "rss-2", items: []source.Item{item("a", "#x")}}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := r.Run(ctx, []Scheduled{{Source: bad}, {Source: good}}, false); err != nil {
		t.Fatalf("Run: %v", err)
	}
	badPolls, _ := bad.count()
	goodPolls, goodCommits := good.count()
	if badPolls < 3 || goodPolls < 5 || goodCommits != goodPolls {
		t.Errorf("bad polled %d times, good %d (%d commits); want both polled repeatedly", badPolls, goodPolls, goodCommits)
	}
	if got := testutil.ToFloat64(r.m.fetchErrors.WithLabelValues("rss-1", "http_status")); got != float64(badPolls) {
		t.Errorf("fetch errors %v, want %d", got, badPolls)
	}
	if testutil.ToFloat64(r.m.up.WithLabelValues("rss-1")) != 0 || testutil.ToFloat64(r.m.up.WithLabelValues("rss-2")) != 1 {
		t.Error("source_up: want 0 for the failing source, 1 for the good one")
	}
}

func TestRunOnce(t *testing.T) {
	pub := &fakePublisher{}
	r, _ := newTestRunner(t, pub, DefaultConfig())
	bad := &staticSource{name: "rss-1", err: &source.FetchError{Reason: source.ReasonParse, Err: errors.New("garbage")}}
	good := &staticSource{name: "file-1", items: []source.Item{item("a", "#x"), item("b", "#y")}}
	stats, err := r.Run(context.Background(), []Scheduled{{Source: bad}, {Source: good}}, true)
	if err == nil || !strings.Contains(err.Error(), "rss-1") {
		t.Errorf("err %v, want the failing source named", err)
	}
	if stats.Published != 2 {
		t.Errorf("published %d, want 2", stats.Published)
	}
	if p, _ := bad.count(); p != 1 {
		t.Errorf("failing source polled %d times with once, want 1", p)
	}
}

// Every metric of docs/metrics.md for ingest is exported before any post.
func TestMetricsExportedFromStart(t *testing.T) {
	r, reg := newTestRunner(t, &fakePublisher{}, DefaultConfig())
	r.Register("rss-1", true)
	r.Register("webhook", false)
	want := []string{
		"tagpulse_ingest_posts_fetched_total", "tagpulse_ingest_posts_published_total",
		"tagpulse_ingest_posts_duplicate_total", "tagpulse_ingest_posts_rejected_total",
		"tagpulse_ingest_fetch_errors_total", "tagpulse_ingest_fetch_duration_seconds",
		"tagpulse_ingest_hashtags_extracted_total", "tagpulse_ingest_last_success_timestamp_seconds",
		"tagpulse_ingest_source_up", "tagpulse_ingest_tombstones_total", "tagpulse_ingest_posts_skipped_total",
	}
	for _, name := range want {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n == 0 {
			t.Errorf("%s: %d series (err %v), want some from the start", name, n, err)
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) != 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"no memory limit", func(c *Config) { c.MemoryLimit = 0 }, ""},
		{"memory limit too small", func(c *Config) { c.MemoryLimit = 1 << 20 }, "--memory-limit must be 0 or at least 32 MiB"},
		{"no publish in flight", func(c *Config) { c.PublishInFlight = 0 }, "--publish-in-flight must be at least 1"},
		{"backoff reversed", func(c *Config) { c.BackoffMin, c.BackoffMax = time.Minute, time.Second }, "backoff must satisfy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
