package source

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

var fixedNow = time.Date(2025, 11, 7, 12, 0, 0, 0, time.UTC)

func testOptions(t *testing.T, state *StateStore) Options {
	t.Helper()
	return Options{State: state, Client: NewHTTPClient(2 * time.Second), Now: func() time.Time { return fixedNow }}
}

// poll runs one poll and returns what it emitted.
func poll(t *testing.T, src Source) ([]Item, Result, error) {
	t.Helper()
	var items []Item
	res, err := src.Poll(context.Background(), func(it Item) error {
		items = append(items, it)
		return nil
	})
	return items, res, err
}

// pollCommit polls and commits, failing the test on an error.
func pollCommit(t *testing.T, src Source) []Item {
	t.Helper()
	items, res, err := poll(t, src)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	if res.Commit != nil {
		if err := res.Commit(); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	return items
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serveFile serves a testdata file with the content type.
func serveFile(t *testing.T, name, contentType string) *httptest.Server {
	t.Helper()
	body := readTestdata(t, name)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func ids(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Post.ID)
	}
	return out
}

// slogTo returns a logger writing text lines to w.
func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// syncBuilder is a strings.Builder that goroutines may write to at once.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
