// Package jetstreamtest is a Jetstream server for tests: a local websocket
// endpoint that replays recorded events (one JSON event a line, in
// Jetstream's format) from the cursor a client asks for, then sends the
// events appended later, as a live stream does. It records the query of
// every connection and can drop a connection part-way, so tests of the
// bluesky source can check resumes and reconnections.
package jetstreamtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
)

// Server replays events over websockets.
type Server struct {
	// URL is the ws:// address of the endpoint (path /subscribe).
	URL string

	mu      sync.Mutex
	events  [][]byte
	times   []int64 // time_us of each event; a malformed one takes its predecessor's
	changed chan struct{}
	queries []url.Values
	drop    []int // events to send on the next connections before closing them
	srv     *httptest.Server
}

// New starts a server holding events; it stops at the end of the test.
func New(t testing.TB, events ...[]byte) *Server {
	t.Helper()
	s := &Server{changed: make(chan struct{})}
	s.Append(events...)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	s.URL = "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/subscribe"
	return s
}

// ReadEvents returns the non-empty lines of a JSONL file of events.
func ReadEvents(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// TimeUS returns the time_us of an event, or 0.
func TimeUS(event []byte) int64 {
	var ev struct {
		TimeUS int64 `json:"time_us"`
	}
	_ = json.Unmarshal(event, &ev)
	return ev.TimeUS
}

// Append adds events, which connected clients receive at once.
func (s *Server) Append(events ...[]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		t := TimeUS(e)
		if t == 0 && len(s.times) > 0 {
			t = s.times[len(s.times)-1]
		}
		s.events = append(s.events, e)
		s.times = append(s.times, t)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// DropNext makes the next connection close after sending n events; calls
// queue up for the connections after it.
func (s *Server) DropNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop = append(s.drop, n)
}

// Queries returns the query of every connection so far, in order.
func (s *Server) Queries() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.queries...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	ctx := conn.CloseRead(r.Context())
	s.mu.Lock()
	s.queries = append(s.queries, r.URL.Query())
	limit := -1
	if len(s.drop) > 0 {
		limit, s.drop = s.drop[0], s.drop[1:]
	}
	next := 0
	if c, err := strconv.ParseInt(r.URL.Query().Get("cursor"), 10, 64); err == nil {
		for next < len(s.times) && s.times[next] < c {
			next++
		}
	}
	s.mu.Unlock()
	sent := 0
	for {
		s.mu.Lock()
		pending, changed := s.events[next:], s.changed
		s.mu.Unlock()
		for _, e := range pending {
			if sent == limit {
				conn.Close(websocket.StatusGoingAway, "dropped by the test")
				return
			}
			if err := conn.Write(ctx, websocket.MessageText, e); err != nil {
				return
			}
			sent++
			next++
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}
