package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMastodonStreamURLs(t *testing.T) {
	tests := []struct {
		in, stream, timeline, err string
	}{
		{in: "https://s.example/api/v1/timelines/tag/otan?access_token=T",
			stream: "https://s.example/api/v1/streaming/hashtag?access_token=T&tag=otan", timeline: "https://s.example/api/v1/timelines/tag/otan?access_token=T"},
		{in: "https://s.example/api/v1/streaming/hashtag/local?tag=r%C3%A9armement",
			stream: "https://s.example/api/v1/streaming/hashtag/local?tag=r%C3%A9armement", timeline: "https://s.example/api/v1/timelines/tag/r%C3%A9armement?local=true"},
		{in: "https://s.example/api/v1/timelines/public?local=true",
			stream: "https://s.example/api/v1/streaming/public/local", timeline: "https://s.example/api/v1/timelines/public?local=true"},
		{in: "https://s.example/api/v1/streaming/public/remote?only_media=true",
			stream: "https://s.example/api/v1/streaming/public/remote?only_media=true", timeline: "https://s.example/api/v1/timelines/public?only_media=true&remote=true"},
		{in: "https://s.example/api/v1/timelines/list/42?access_token=T",
			stream: "https://s.example/api/v1/streaming/list?access_token=T&list=42", timeline: "https://s.example/api/v1/timelines/list/42?access_token=T"},
		{in: "https://s.example/api/v1/streaming/list?list=42",
			stream: "https://s.example/api/v1/streaming/list?list=42", timeline: "https://s.example/api/v1/timelines/list/42"},
		{in: "https://s.example/api/v1/timelines/home", err: "not a public, hashtag or list timeline"},
		{in: "https://s.example/api/v1/streaming/hashtag", err: "without a tag"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, _ := url.Parse(tt.in)
			s, tl, err := mastodonStreamURLs(u)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || s.String() != tt.stream || tl.String() != tt.timeline {
				t.Errorf("got %v %v (err %v)\nwant %s %s", s, tl, err, tt.stream, tt.timeline)
			}
		})
	}
}

func TestSSEReader(t *testing.T) {
	in := ":thump\n\nevent: update\ndata: {\"a\":\r\ndata:1}\r\n\r\nid: 7\nretry: 10\n\nevent: delete\n\ndata: plain\n\n"
	r := newSSEReader(strings.NewReader(in), 100)
	var got []string
	for {
		ev, err := r.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Event+"="+string(ev.Data))
	}
	if want := []string{"update={\"a\":\n1}", "message=plain"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q (comments, ids and events without data skipped)", got, want)
	}
	for name, in := range map[string]string{
		"long line": "data: " + strings.Repeat("x", 200) + "\n\n",
		"long data": strings.Repeat("data: "+strings.Repeat("x", 40)+"\n", 5) + "\n",
	} {
		if _, err := newSSEReader(strings.NewReader(in), 100).next(); !errors.Is(err, errSSETooLarge) {
			t.Errorf("%s: err %v, want too large", name, err)
		}
	}
}

// fakeStreaming serves a hashtag timeline (polled) and its stream: each
// connection gets the next script of events, then ends, except the last,
// which stays open.
type fakeStreaming struct {
	fakeTimeline
	mu      sync.Mutex
	scripts []string
	conns   int
}

func (f *fakeStreaming) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/v1/streaming/") {
		f.fakeTimeline.ServeHTTP(w, r)
		return
	}
	f.mu.Lock()
	i := f.conns
	f.conns++
	scripts := f.scripts
	f.mu.Unlock()
	if r.URL.Query().Get("tag") != "otan" {
		http.Error(w, "no tag", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	if i < len(scripts) {
		_, _ = io.WriteString(w, scripts[i])
	}
	w.(http.Flusher).Flush()
	if i >= len(scripts)-1 {
		<-r.Context().Done()
	}
}

func statusJSON(user, id, text string) string {
	return fmt.Sprintf(`{"id":%q,"uri":"https://social.example/users/%s/statuses/%s","created_at":"2025-11-06T10:00:00Z","content":"<p>%s</p>","account":{"acct":%q},"tags":[{"name":"otan"}]}`, id, user, id, text, user)
}

// The stream backfills from the timeline, then follows the events; after
// a dropped connection it backfills since the last id seen. Every post is
// published once, whichever way it came.
func TestMastodonStream(t *testing.T) {
	page1 := readTestdata(t, "mastodon-page1.json") // statuses …1 to …3
	f := &fakeStreaming{
		fakeTimeline: fakeTimeline{pages: map[string][]byte{
			"": page1,
			// What came while the stream was down.
			"110000000000000004": []byte("[" + statusJSON("ann", "110000000000000005", "five #otan") + "]"),
		}},
		scripts: []string{
			":thump\n\n" +
				"event: update\ndata: " + statusJSON("bob", "110000000000000003", "three again") + "\n\n" + // also backfilled
				"event: update\ndata: " + statusJSON("ann", "110000000000000004", "four #otan") + "\n\n" +
				"event: delete\ndata: 110000000000000001\n\n" + // backfilled: a tombstone
				"event: delete\ndata: \"110000000000000999\"\n\n" + // never read: skipped
				"event: status.update\ndata: " + statusJSON("ann", "110000000000000004", "four, edited") + "\n\n" +
				"event: notification\ndata: {}\n\n" +
				"event: update\ndata: {\"id\":\"110000000000000009\",\"content\":\n\n",
			"event: update\ndata: " + statusJSON("ann", "110000000000000006", "six #otan") + "\n\n",
		},
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	opt, m := streamOptions(t, nil)
	opt.Name = "mastodon-stream-1"
	s, err := NewMastodonStream(srv.URL+"/api/v1/timelines/tag/otan", opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// 3 backfilled, 2 updates, a delete and a malformed update, 1
	// backfilled after the drop, 1 update.
	items, errs := drain(context.Background(), t, s, 3+4+1+1, true)
	want := []string{
		"mastodon:https://social.example/users/ann/statuses/110000000000000001",
		"mastodon:https://social.example/users/ann/statuses/110000000000000002",
		"mastodon:https://social.example/users/bob/statuses/110000000000000003",
		"mastodon:https://social.example/users/ann/statuses/110000000000000004",
		"deleted mastodon:https://social.example/users/ann/statuses/110000000000000001",
		"mastodon:https://social.example/users/ann/statuses/110000000000000005",
		"mastodon:https://social.example/users/ann/statuses/110000000000000006",
	}
	if got := publishedKeys(items); !slices.Equal(got, want) {
		t.Errorf("published\n%v\nwant\n%v", got, want)
	}
	if len(errs) != 1 {
		t.Errorf("poll errors %v, want one for the stream that ended", errs)
	}
	f.fakeTimeline.mu.Lock()
	queries := slices.Clone(f.fakeTimeline.queries)
	f.fakeTimeline.mu.Unlock()
	if wantQ := []string{"limit=40", "limit=40&min_id=110000000000000004"}; !slices.Equal(queries, wantQ) {
		t.Errorf("backfill queries %q, want %q", queries, wantQ)
	}
	for kind, n := range map[string]float64{SkipDelete: 1, SkipUpdate: 1, SkipOther: 1} {
		if got := testutil.ToFloat64(m.skipped.WithLabelValues("mastodon-stream-1", kind)); got != n {
			t.Errorf("skipped %s: %v, want %v", kind, got, n)
		}
	}
	if tomb := items[5].Post; !tomb.CreatedAt.Equal(time.Date(2025, 11, 6, 10, 1, 0, 0, time.UTC)) || tomb.Source != "mastodon-stream-1" || tomb.Text != "" {
		t.Errorf("tombstone %+v: want the post's created_at and the source's name, no text", tomb)
	}
	if tags := items[4].Post.Tags; !slices.Equal(tags, []string{"otan"}) {
		t.Errorf("streamed status tags %q, want [otan]", tags)
	}
}

// A stream that sends nothing, not even a heartbeat, is taken for dead.
func TestMastodonStreamSilent(t *testing.T) {
	f := &fakeStreaming{fakeTimeline: fakeTimeline{pages: map[string][]byte{"": []byte("[]")}}, scripts: []string{":thump\n\n"}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	opt, _ := streamOptions(t, nil)
	s, err := NewMastodonStream(srv.URL+"/api/v1/timelines/tag/otan", opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.idle = 200 * time.Millisecond
	err = pollUntilError(t, s, 5*time.Second)
	if FetchReason(err) != ReasonTimeout || !errors.Is(err, errStreamIdle) {
		t.Errorf("err %v, want a timeout for the silent stream", err)
	}
}

// publishedKeys returns what would be published: the post ids, and
// "deleted ID" for tombstones.
func publishedKeys(items []Item) []string {
	var out []string
	for _, it := range items {
		if it.Err == nil && !it.Duplicate {
			out = append(out, recentKey(it.Post))
		}
	}
	return out
}

// A delete event becomes the tombstone of the post of a status the
// stream read, whether live, in a backfill, or before a restart (the
// cursor keeps the newest statuses); the delete of a boost, or of a
// status never read, is skipped and counted.
func TestMastodonStreamDeletes(t *testing.T) {
	orig := `{"id":"201","uri":"https://social.example/users/ann/statuses/201","created_at":"2025-11-06T10:00:00Z","content":"<p>#otan</p>","account":{"acct":"ann"}}`
	boost := `{"id":"202","uri":"https://social.example/users/bob/statuses/202/activity","created_at":"2025-11-06T10:05:00Z","content":"","account":{"acct":"bob"},"reblog":` + orig + `}`
	page := []byte("[" + statusJSON("cat", "200", "before the restart #otan") + "]")
	state, err := OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// One server for both runs: the cursor is kept by URL.
	f := &fakeStreaming{fakeTimeline: fakeTimeline{pages: map[string][]byte{"": page}}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	run := func(script string, n int) []string {
		t.Helper()
		f.mu.Lock()
		f.scripts = append(f.scripts, script) // the next connection's, kept open
		f.mu.Unlock()
		opt, m := streamOptions(t, state)
		s, err := NewMastodonStream(srv.URL+"/api/v1/timelines/tag/otan", opt)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		items, _ := drain(context.Background(), t, s, n, true)
		out := publishedKeys(items)
		skipped := func() float64 { return testutil.ToFloat64(m.skipped.WithLabelValues(opt.Name, SkipDelete)) }
		for deadline := time.Now().Add(time.Second); skipped() < 2 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond) // the last events are read after the last item
		}
		return append(out, fmt.Sprintf("skipped %v", skipped()))
	}
	// The backfill brings status 200; the stream a boost of 201.
	first := run("event: update\ndata: "+boost+"\n\n"+
		"event: delete\ndata: 202\n\n"+ // the boost: not a post of its own
		"event: delete\ndata: 777\n\n"+ // never read
		"event: delete\ndata: 201\n\n", // the boosted status
		3)
	want := []string{
		"mastodon:https://social.example/users/cat/statuses/200",
		"mastodon:https://social.example/users/ann/statuses/201",
		"deleted mastodon:https://social.example/users/ann/statuses/201",
		"skipped 2",
	}
	if !slices.Equal(first, want) {
		t.Errorf("first run %q\nwant %q", first, want)
	}
	// After a restart, the cursor still knows status 200.
	second := run("event: delete\ndata: 200\n\nevent: delete\ndata: 201\n\n", 2)
	want = []string{
		"deleted mastodon:https://social.example/users/cat/statuses/200",
		"skipped 0",
	}
	if !slices.Equal(second, want) {
		t.Errorf("after a restart %q\nwant %q (the second delete of 201 is a duplicate)", second, want)
	}
}

func TestStatusIndexBounds(t *testing.T) {
	var x statusIndex
	for i := range 3 * statusIndexKept {
		x.add(statusRef{Status: fmt.Sprint(i), Post: fmt.Sprintf("p%d", i)})
	}
	saved := x.saved()
	x.add(statusRef{Status: "new", Post: "pnew"})
	if _, ok := x.posts["0"]; ok || len(x.posts) > 2*statusIndexKept || len(x.refs) > 2*statusIndexKept {
		t.Errorf("%d statuses, %d refs: want the oldest dropped, at most %d", len(x.posts), len(x.refs), 2*statusIndexKept)
	}
	if r, ok := x.posts[fmt.Sprint(3*statusIndexKept-1)]; !ok || r.Post != fmt.Sprintf("p%d", 3*statusIndexKept-1) {
		t.Errorf("the newest status before the last is not known")
	}
	if len(saved) != statusIndexSaved || saved[len(saved)-1].Status != fmt.Sprint(3*statusIndexKept-1) || cap(saved) != len(saved) {
		t.Errorf("saved %d refs ending with %q (cap %d): want the newest %d, closed to appends", len(saved), saved[len(saved)-1].Status, cap(saved), statusIndexSaved)
	}
}
