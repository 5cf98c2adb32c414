package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tagpulse/internal/command"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/trend"
	"tagpulse/internal/trend/trendtest"
)

// gatedStore is the real store behind a gate: each query waits until the
// test opens the gate, then runs on ClickHouse. It lets the test hold
// queries in flight as long as a slow 90-day query would.
type gatedStore struct {
	real    *trend.Store
	arrived chan struct{} // one value per query that reached the gate
	open    chan struct{} // closed to let every query through
}

func (g *gatedStore) wait(ctx context.Context) error {
	g.arrived <- struct{}{}
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gatedStore) Top(ctx context.Context, q trend.Query) ([]trend.Count, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.real.Top(ctx, q)
}

func (g *gatedStore) Trending(ctx context.Context, q trend.Query) ([]trend.Trend, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.real.Trending(ctx, q)
}

func (g *gatedStore) Series(ctx context.Context, q trend.SeriesQuery) ([]trend.Series, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.real.Series(ctx, q)
}

func (g *gatedStore) Tag(ctx context.Context, q trend.TagQuery) (trend.TagPage, error) {
	if err := g.wait(ctx); err != nil {
		return trend.TagPage{}, err
	}
	return g.real.Tag(ctx, q)
}

func (g *gatedStore) Known(ctx context.Context) ([]string, []string, error) {
	if err := g.wait(ctx); err != nil {
		return nil, nil, err
	}
	return g.real.Known(ctx)
}

// limitsServer serves the handler over the trendtest story in ClickHouse on
// a real listener, through command.Serve as aggregate run does, until the
// test ends.
func limitsServer(t *testing.T, cfg Config) (base string, store *gatedStore, reg *prometheus.Registry) {
	t.Helper()
	_, conn := stacktest.MigratedClickHouse(t)
	now := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	trendtest.Insert(t, conn, trendtest.NewStory(now.Truncate(time.Minute).Add(time.Minute)).Mentions)
	store = &gatedStore{real: trend.NewStore(conn, trend.DefaultParams()), arrived: make(chan struct{}, 100), open: make(chan struct{})}
	reg = prometheus.NewRegistry()
	ln, err := command.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(Options{Store: store, Registerer: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return now }, Config: cfg, ListenAddr: ln.Addr().String()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- command.Serve(ctx, ln, h, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serving: %v", err)
		}
	})
	return "http://" + ln.Addr().String(), store, reg
}

type reply struct {
	code       int
	body       string
	retryAfter string
}

func fetch(t *testing.T, url string) reply {
	resp, err := http.Get(url)
	if err != nil {
		t.Error(err)
		return reply{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, string(b), resp.Header.Get("Retry-After")}
}

// fetchAll sends each request at once and returns the replies in order.
func fetchAll(t *testing.T, urls ...string) []reply {
	out := make([]reply, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Add(1)
		go func() { defer wg.Done(); out[i] = fetch(t, u) }()
	}
	wg.Wait()
	return out
}

func waitArrivals(t *testing.T, s *gatedStore, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-s.arrived:
		case <-time.After(20 * time.Second):
			t.Fatalf("only %d of %d queries reached the store", i, n)
		}
	}
}

// metricValue sums the values of a gathered counter or gauge, over the
// series of one handler when handler is not empty.
func metricValue(t *testing.T, reg *prometheus.Registry, name, handler string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var sum float64
		for _, m := range mf.GetMetric() {
			match := handler == ""
			for _, l := range m.GetLabel() {
				match = match || l.GetName() == "handler" && l.GetValue() == handler
			}
			if match {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
		return sum
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestQueriesBeyondTheLimitGet503 holds two distinct queries in flight on a
// server allowing two, and checks that a third distinct question is
// answered 503 with Retry-After at once without reaching ClickHouse, and
// that the two held ones then answer from ClickHouse.
func TestQueriesBeyondTheLimitGet503(t *testing.T) {
	base, store, reg := limitsServer(t, Config{MaxInFlight: 2})
	held := make(chan []reply)
	go func() { held <- fetchAll(t, base+"/api/v1/top?window=90d", base+"/api/v1/trending?window=90d") }()
	waitArrivals(t, store, 2)
	if n := metricValue(t, reg, "tagpulse_api_queries_in_flight", ""); n != 2 {
		t.Errorf("queries in flight %v, want 2", n)
	}

	for _, path := range []string{"/api/v1/top?window=7d", "/api/v1/series?tag=nato"} {
		r := fetch(t, base+path)
		if r.code != http.StatusServiceUnavailable || r.retryAfter != "2" || !strings.Contains(r.body, "retry shortly") {
			t.Errorf("%s with the server full: %d, Retry-After %q, body %s; want 503, Retry-After 2", path, r.code, r.retryAfter, r.body)
		}
	}
	close(store.open)
	for i, r := range <-held {
		if r.code != http.StatusOK || !strings.Contains(r.body, `"tag":"n`) {
			t.Errorf("held query %d: %d %s", i, r.code, r.body)
		}
	}
	if n := metricValue(t, reg, "tagpulse_api_store_queries_total", ""); n != 2 {
		t.Errorf("%v queries reached ClickHouse, want 2: the refused ones must not", n)
	}
	// With the slots free again, the refused question is answered.
	if r := fetch(t, base+"/api/v1/top?window=7d"); r.code != http.StatusOK {
		t.Errorf("after the load: %d %s", r.code, r.body)
	}
}

// TestIdenticalQuestionsShareOneQuery asks the same questions many times,
// at once and one after another, and counts the queries that reached
// ClickHouse: one per distinct question while the answer is kept, and one
// more once it expired.
func TestIdenticalQuestionsShareOneQuery(t *testing.T) {
	const ttl = 2 * time.Second
	base, store, reg := limitsServer(t, Config{MaxInFlight: 4, CacheTTL: ttl})
	close(store.open)
	go func() { // the gate is open; drain its arrivals
		for range store.arrived {
		}
	}()
	t.Cleanup(func() { close(store.arrived) })

	// The parameters differ in spelling only: the same question.
	same := []string{"/api/v1/top?window=1h&limit=5", "/api/v1/top?limit=5&window=60m", "/api/v1/top?limit=5&window=1h&source=", "/api/v1/top?window=1h&limit=5"}
	var urls []string
	for i := 0; i < 5; i++ {
		for _, p := range same {
			urls = append(urls, base+p)
		}
	}
	replies := fetchAll(t, urls...)
	for i := 0; i < 5; i++ {
		replies = append(replies, fetch(t, base+same[i%len(same)]))
	}
	for i, r := range replies {
		if r.code != http.StatusOK || r.body != replies[0].body {
			t.Fatalf("reply %d: %d %s, want 200 and the same body as the first, %s", i, r.code, r.body, replies[0].body)
		}
	}
	if n := metricValue(t, reg, "tagpulse_api_store_queries_total", "top"); n != 1 {
		t.Errorf("%v top queries reached ClickHouse for %d identical questions, want 1", n, len(replies))
	}
	if n := metricValue(t, reg, "tagpulse_api_cache_hits_total", "top"); n != float64(len(replies)-1) {
		t.Errorf("%v cache hits, want %d", n, len(replies)-1)
	}
	// Another question is another query; an explicit time of the same
	// minute is one question.
	fetch(t, base+"/api/v1/top?window=1h&limit=6")
	fetch(t, base+"/api/v1/top?window=1h&limit=5&at=2025-11-20T14:37:01Z")
	fetch(t, base+"/api/v1/top?window=1h&limit=5&at=2025-11-20T14:37:59Z")
	if n := metricValue(t, reg, "tagpulse_api_store_queries_total", "top"); n != 3 {
		t.Errorf("%v top queries after two more distinct questions, want 3", n)
	}
	time.Sleep(ttl + 100*time.Millisecond)
	fetch(t, base+same[0])
	if n := metricValue(t, reg, "tagpulse_api_store_queries_total", "top"); n != 4 {
		t.Errorf("%v top queries after the answer expired, want 4", n)
	}
}

// TestForeignHostNamesAreRefused sends requests to a real server under the
// names a DNS rebinding attack would use, and under the names that must
// keep working.
func TestForeignHostNamesAreRefused(t *testing.T) {
	base, store, reg := limitsServer(t, Config{AllowedHosts: []string{"trends.example.org", ".internal.example"}})
	close(store.open)
	go func() {
		for range store.arrived {
		}
	}()
	t.Cleanup(func() { close(store.arrived) })
	for _, tt := range []struct {
		host string
		want int
	}{
		{"attacker.example.com", http.StatusMisdirectedRequest},
		{"attacker.example.com:8080", http.StatusMisdirectedRequest},
		{"localhost.attacker.example", http.StatusMisdirectedRequest},
		{"example.org", http.StatusMisdirectedRequest},
		{"localhost:8080", http.StatusOK},
		{"app.localhost", http.StatusOK},
		{"127.0.0.1:1234", http.StatusOK},
		{"[::1]:8080", http.StatusOK},
		{"Trends.Example.Org.", http.StatusOK},
		{"a.internal.example:80", http.StatusOK},
	} {
		for _, path := range []string{"/", "/api/v1/top"} {
			req, _ := http.NewRequest(http.MethodGet, base+path, nil)
			req.Host = tt.host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("Host %s %s: %d, want %d (%s)", tt.host, path, resp.StatusCode, tt.want, b)
			}
			if tt.want != http.StatusOK && !strings.Contains(string(b), "--api-allowed-hosts") {
				t.Errorf("Host %s: the refusal does not say how to allow it: %s", tt.host, b)
			}
		}
	}
	if n := metricValue(t, reg, "tagpulse_api_host_refused_total", ""); n != 8 {
		t.Errorf("%v refusals counted, want 8 (4 foreign names, 2 paths each)", n)
	}
}
