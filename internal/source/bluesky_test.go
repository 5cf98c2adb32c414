package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"tagpulse/internal/post"
	"tagpulse/internal/source/jetstreamtest"
)

// The posts of testdata/jetstream/stream.jsonl, in order.
var jetstreamPostIDs = []string{
	"bluesky:at://did:plc:ann4example/app.bsky.feed.post/3m4aaa2post1",
	"bluesky:at://did:plc:cat4example/app.bsky.feed.post/3m4aaa3post2",
	"bluesky:at://did:plc:eve4example/app.bsky.feed.post/3m4aaa6post3",
	"bluesky:at://did:plc:hal4example/app.bsky.feed.post/3m4aab2post4",
}

// jetstreamTombstone is the tombstone of the delete commit of
// testdata/jetstream/stream.jsonl, as publishedKeys writes it.
const jetstreamTombstone = "deleted bluesky:at://did:plc:ann4example/app.bsky.feed.post/3m4aaa0old"

// jetstreamPublished is what the stream publishes, in order: its posts,
// and the tombstone after the second.
var jetstreamPublished = []string{jetstreamPostIDs[0], jetstreamPostIDs[1], jetstreamTombstone, jetstreamPostIDs[2], jetstreamPostIDs[3]}

// streamOptions are the options of a stream under test: a short window,
// its own metrics.
func streamOptions(t *testing.T, state *StateStore) (Options, *Metrics) {
	t.Helper()
	opt := testOptions(t, state)
	opt.Window = 100 * time.Millisecond
	opt.Metrics = NewMetrics(prometheus.NewRegistry())
	opt.Name = "bluesky-2"
	return opt, opt.Metrics
}

func newBluesky(t *testing.T, url string, opt Options) *Bluesky {
	t.Helper()
	b, err := NewBluesky(url, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// drain polls src (committing each poll) until it has emitted n items or
// the time is up, and returns the items and the poll errors.
func drain(ctx context.Context, t *testing.T, src Source, n int, commit bool) ([]Item, []error) {
	t.Helper()
	var items []Item
	var errs []error
	for deadline := time.Now().Add(10 * time.Second); len(items) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d items after 10s, want %d (errors %v)", len(items), n, errs)
		}
		res, err := src.Poll(ctx, func(it Item) error {
			items = append(items, it)
			return nil
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if commit && res.Commit != nil {
			if err := res.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return items, errs
}

// published returns what would be published: the ids of the posts, and
// "deleted ID" for tombstones (publishedKeys).
func published(items []Item) []string { return publishedKeys(items) }

func TestBlueskyEvents(t *testing.T) {
	srv := jetstreamtest.New(t, jetstreamtest.ReadEvents(t, "testdata/jetstream/stream.jsonl")...)
	opt, m := streamOptions(t, nil)
	b := newBluesky(t, srv.URL+"?wantedDids=did:plc:ann4example&lang=xx&tag=yy&cursor=5", opt)
	b.langs, b.tags = nil, map[string]bool{} // the filters have a test of their own
	items, _ := drain(context.Background(), t, b, 8, true)

	if got := published(items); !slices.Equal(got, jetstreamPublished) {
		t.Errorf("published %v\nwant %v", got, jetstreamPublished)
	}
	want := post.Post{
		ID: jetstreamPostIDs[0], Text: "Le sommet #OTAN commence", CreatedAt: time.Date(2025, 11, 6, 10, 0, 0, 0, time.UTC),
		Source: "bluesky-2", Author: "did:plc:ann4example", URL: "https://bsky.app/profile/did:plc:ann4example/post/3m4aaa2post1",
		Lang: "fr", Tags: []string{"OTAN"},
	}
	if !reflect.DeepEqual(items[0].Post, want) {
		t.Errorf("first post\n got %+v\nwant %+v", items[0].Post, want)
	}
	if got := items[1].Post; !slices.Equal(got.Tags, []string{"Réarmement"}) || got.Lang != "en" {
		t.Errorf("record tags and langs: got tags %q lang %q, want [Réarmement] en", got.Tags, got.Lang)
	}
	if tomb := items[2].Post; !tomb.CreatedAt.IsZero() || tomb.Source != "bluesky-2" || tomb.Author != "" {
		t.Errorf("tombstone %+v: want no created_at (the record is gone), the source's name, no author", tomb)
	}
	if got := items[4].Post.Tags; !slices.Equal(got, []string{"défense"}) {
		t.Errorf("facet tags %q, want [défense] (the link facet left out)", got)
	}
	var reasons []string
	for _, it := range items {
		if it.Err != nil {
			reasons = append(reasons, post.Reason(it.Err))
		}
	}
	if want := []string{"invalid_json", "invalid_value", "wrong_type"}; !slices.Equal(reasons, want) {
		t.Errorf("rejects %v, want %v", reasons, want)
	}
	for kind, n := range map[string]float64{SkipIdentity: 1, SkipAccount: 1, SkipDelete: 0, SkipUpdate: 1, SkipOther: 1, SkipFiltered: 0} {
		if got := testutil.ToFloat64(m.skipped.WithLabelValues("bluesky-2", kind)); got != n {
			t.Errorf("skipped %s: %v, want %v", kind, got, n)
		}
	}
	q := srv.Queries()[0]
	if !slices.Equal(q["wantedCollections"], []string{"app.bsky.feed.post", "app.bsky.actor.profile"}) || q.Get("wantedDids") != "did:plc:ann4example" ||
		q.Has("lang") || q.Has("tag") || q.Has("cursor") || q.Get("maxMessageSizeBytes") != strconv.Itoa(post.MaxMessageBytes) {
		t.Errorf("query %v: want posts and profiles, the DIDs, a message bound, no cursor and none of tagpulse's filters", q)
	}
}

func TestBlueskyFilters(t *testing.T) {
	srv := jetstreamtest.New(t, jetstreamtest.ReadEvents(t, "testdata/jetstream/stream.jsonl")...)
	opt, m := streamOptions(t, nil)
	// French posts tagged #otan or #Défense: the first (fr, #OTAN) and the
	// third (fr-FR, facet défense); the second is French too but tagged
	// otherwise. The delete passes every filter.
	b := newBluesky(t, srv.URL+"?lang=FR&tag=otan,%23D%C3%A9fense", opt)
	// Emitted: the two posts, the tombstone and two rejects (the malformed
	// event, the record of the wrong type); filtered: the other three
	// posts.
	items, _ := drain(context.Background(), t, b, 5, true)
	want := []string{jetstreamPostIDs[0], jetstreamTombstone, jetstreamPostIDs[2]}
	if got := published(items); !slices.Equal(got, want) {
		t.Errorf("published %v, want %v", got, want)
	}
	filtered := func() float64 { return testutil.ToFloat64(m.skipped.WithLabelValues("bluesky-2", SkipFiltered)) }
	for deadline := time.Now().Add(5 * time.Second); filtered() < 3 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // the last event is read after the last item
	}
	if got := filtered(); got != 3 {
		t.Errorf("filtered %v, want 3", got)
	}
}

// A connection dropped mid-stream is made again, at the cursor less the
// rewind; what the rewind replays is marked duplicate: every post is
// published once.
func TestBlueskyReconnect(t *testing.T) {
	events := jetstreamtest.ReadEvents(t, "testdata/jetstream/stream.jsonl")
	srv := jetstreamtest.New(t, events...)
	srv.DropNext(5)
	opt, _ := streamOptions(t, nil)
	b := newBluesky(t, srv.URL, opt)
	// Two posts and the tombstone before the drop, then the eight items
	// of the whole stream (the rewind replays it all).
	items, errs := drain(context.Background(), t, b, 3+8, true)
	if got := published(items); !slices.Equal(got, jetstreamPublished) {
		t.Errorf("published %v\nwant %v", got, jetstreamPublished)
	}
	if len(errs) != 1 || FetchReason(errs[0]) != ReasonNetwork {
		t.Errorf("poll errors %v, want one network error for the dropped connection", errs)
	}
	qs := srv.Queries()
	want := strconv.FormatInt(jetstreamtest.TimeUS(events[4])-blueskyRewind.Microseconds(), 10)
	if len(qs) != 2 || qs[1].Get("cursor") != want {
		t.Errorf("queries %v, want a second connection at cursor %s", qs, want)
	}
}

// A restart resumes at the saved cursor: no post is lost, and none of the
// replayed ones is published twice.
func TestBlueskyResume(t *testing.T) {
	events := jetstreamtest.ReadEvents(t, "testdata/jetstream/stream.jsonl")
	srv := jetstreamtest.New(t, events[:7]...)
	state, err := OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := streamOptions(t, state)
	first := newBluesky(t, srv.URL, opt)
	items, _ := drain(context.Background(), t, first, 5, true)
	first.Close()
	// Events that came while it was down, then a restart.
	srv.Append(events[7:]...)
	second := newBluesky(t, srv.URL, opt)
	more, _ := drain(context.Background(), t, second, 8, true)
	if got := published(append(items, more...)); !slices.Equal(got, jetstreamPublished) {
		t.Errorf("published across the restart %v\nwant %v (each once)", got, jetstreamPublished)
	}
	if n := len(srv.Queries()); n != 2 || srv.Queries()[1].Get("cursor") == "" {
		t.Errorf("queries %v: want the restart to send its cursor", srv.Queries())
	}
}

// A poll whose posts were not published (no commit) is read again: the
// source reconnects at the saved cursor.
func TestBlueskyUncommittedPollIsReadAgain(t *testing.T) {
	events := jetstreamtest.ReadEvents(t, "testdata/jetstream/stream.jsonl")
	srv := jetstreamtest.New(t, events[:3]...)
	opt, _ := streamOptions(t, nil)
	b := newBluesky(t, srv.URL, opt)
	ctx := context.Background()
	lost, _ := drain(ctx, t, b, 2, false)
	again, _ := drain(ctx, t, b, 2, true)
	want := jetstreamPostIDs[:2]
	if !slices.Equal(published(lost), want) || !slices.Equal(published(again), want) {
		t.Errorf("uncommitted %v then %v, want %v twice", published(lost), published(again), want)
	}
	if n := len(srv.Queries()); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// A slow consumer holds the pump back (a few events buffered) and loses
// nothing.
func TestBlueskySlowConsumer(t *testing.T) {
	const n = 2000
	var events [][]byte
	var want []string
	for i := range n {
		rkey := fmt.Sprintf("slow%05d", i)
		events = append(events, fmt.Appendf(nil,
			`{"did":"did:plc:slow","time_us":%d,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":%q,"record":{"text":"#slow %d","createdAt":"2025-11-06T10:00:00Z"}}}`,
			1762423200000000+int64(i), rkey, i))
		want = append(want, "bluesky:at://did:plc:slow/app.bsky.feed.post/"+rkey)
	}
	srv := jetstreamtest.New(t, events...)
	opt, _ := streamOptions(t, nil)
	b := newBluesky(t, srv.URL, opt)
	b.buffer = 4
	var items []Item
	for deadline := time.Now().Add(20 * time.Second); len(items) < n && time.Now().Before(deadline); {
		res, err := b.Poll(context.Background(), func(it Item) error {
			if len(it.Post.ID)%2 == 0 {
				time.Sleep(50 * time.Microsecond)
			}
			items = append(items, it)
			if l := len(b.pump.ch); l > 4 {
				return fmt.Errorf("%d events buffered, over the bound of 4", l)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Commit != nil {
			if err := res.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := published(items); !slices.Equal(got, want) {
		t.Errorf("published %d posts, want all %d in order", len(got), n)
	}
}

// A message over the bound is a reject, and the stream goes on.
func TestBlueskyMessageTooLarge(t *testing.T) {
	events := jetstreamtest.ReadEvents(t, "testdata/jetstream/stream.jsonl")
	big := fmt.Appendf(nil, `{"did":"did:plc:big","time_us":1762423199000000,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"big","record":{"text":%q}}}`,
		strings.Repeat("x", 8000))
	srv := jetstreamtest.New(t, big, events[0])
	opt, _ := streamOptions(t, nil)
	opt.MaxMessageBytes = 4096
	b := newBluesky(t, srv.URL, opt)
	items, errs := drain(context.Background(), t, b, 2, true)
	if !errors.Is(items[0].Err, post.ErrTooLarge) || items[1].Post.ID != jetstreamPostIDs[0] || len(errs) != 0 {
		t.Errorf("items %+v, errors %v: want a too_large reject, then the post, on one connection", items, errs)
	}
}

func TestBlueskyCursorTooOld(t *testing.T) {
	events := jetstreamtest.ReadEvents(t, "testdata/jetstream/stream.jsonl")
	srv := jetstreamtest.New(t, events[0])
	state, err := OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	old := fixedNow.Add(-72 * time.Hour).UnixMicro()
	if err := state.Save(StateKey(KindBluesky, srv.URL), blueskyCursor{TimeUS: old}); err != nil {
		t.Fatal(err)
	}
	var logs syncBuilder
	opt, _ := streamOptions(t, state)
	opt.Log = slogTo(&logs)
	b := newBluesky(t, srv.URL, opt)
	items, _ := drain(context.Background(), t, b, 1, true)
	if items[0].Post.ID != jetstreamPostIDs[0] {
		t.Errorf("got %v, want the server's oldest post", ids(items))
	}
	if !strings.Contains(logs.String(), "older than Jetstream keeps") {
		t.Errorf("log %q: want a warning that the cursor was too old", logs.String())
	}
}

// A peer that no longer answers (no message, no pong) is taken for gone:
// the poll fails, and the next one connects again.
func TestBlueskyDeadPeer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		<-r.Context().Done() // never reads: pings go unanswered
	}))
	defer srv.Close()
	opt, _ := streamOptions(t, nil)
	var logs syncBuilder
	opt.Log = slogTo(&logs)
	b := newBluesky(t, "ws"+strings.TrimPrefix(srv.URL, "http"), opt)
	b.idle = 100 * time.Millisecond
	err := pollUntilError(t, b, 5*time.Second)
	if FetchReason(err) != ReasonNetwork || !strings.Contains(logs.String(), "no answer to a ping") {
		t.Errorf("err %v, log %q: want a network error once the ping went unanswered", err, logs.String())
	}
}

// pollUntilError polls src until a poll fails, and returns that error.
func pollUntilError(t *testing.T, src Source, within time.Duration) error {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); {
		if _, err := src.Poll(context.Background(), func(Item) error { return nil }); err != nil {
			return err
		}
	}
	t.Fatalf("no poll failed within %s", within)
	return nil
}

func TestBlueskyEventKinds(t *testing.T) {
	opt, m := streamOptions(t, nil)
	b := newBluesky(t, "wss://jetstream.example/subscribe", opt)
	tests := []struct {
		name, event string
		skip        string // the kind counted, when skipped
		reason      string // the reject reason, when rejected
	}{
		{"an image alone", `{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r","record":{"text":" ","embed":{}}}}`, SkipEmpty, ""},
		{"tags without text: the runner refuses it", `{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r","record":{"text":"","tags":["otan"]}}}`, "", ""},
		{"no rkey", `{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","record":{"text":"x"}}}`, "", "missing_field"},
		{"unknown kind", `{"did":"did:plc:a","time_us":1,"kind":"sync"}`, SkipOther, ""},
		{"not JSON", `hello`, "", "invalid_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before float64
			if tt.skip != "" {
				before = testutil.ToFloat64(m.skipped.WithLabelValues("bluesky-2", tt.skip))
			}
			it, _ := b.event([]byte(tt.event))
			switch {
			case tt.skip != "":
				if after := testutil.ToFloat64(m.skipped.WithLabelValues("bluesky-2", tt.skip)); it != nil || after != before+1 {
					t.Errorf("item %+v, %s count %v→%v: want skipped and counted", it, tt.skip, before, after)
				}
			case tt.reason != "":
				if it == nil || post.Reason(it.Err) != tt.reason {
					t.Errorf("item %+v: want a reject for %s", it, tt.reason)
				}
			default:
				if it == nil || it.Err != nil {
					t.Errorf("item %+v: want a post", it)
				}
			}
		})
	}
}

// A delete commit is the tombstone of the post of its record; a post
// self-labelled !no-unauthenticated is counted but marked not indexable.
func TestBlueskySignals(t *testing.T) {
	opt, m := streamOptions(t, nil)
	b := newBluesky(t, "wss://jetstream.example/subscribe?lang=fr&tag=otan", opt)
	no := false
	tests := []struct {
		name, event string
		want        post.Post
		reason      string // the reject reason, when rejected
	}{
		{"delete", `{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"operation":"delete","collection":"app.bsky.feed.post","rkey":"r1"}}`,
			post.Post{ID: "bluesky:at://did:plc:a/app.bsky.feed.post/r1", Deleted: true, Source: "bluesky-2"}, ""},
		{"delete without rkey", `{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"operation":"delete","collection":"app.bsky.feed.post"}}`,
			post.Post{}, "missing_field"},
		{"self-labelled !no-unauthenticated", `{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r2","record":{"text":"#otan","langs":["fr"],"createdAt":"2025-11-06T10:00:00Z","labels":{"$type":"com.atproto.label.defs#selfLabels","values":[{"val":"!no-unauthenticated"}]}}}}`,
			post.Post{ID: "bluesky:at://did:plc:a/app.bsky.feed.post/r2", Text: "#otan", Lang: "fr", CreatedAt: time.Date(2025, 11, 6, 10, 0, 0, 0, time.UTC),
				Source: "bluesky-2", Author: "did:plc:a", URL: "https://bsky.app/profile/did:plc:a/post/r2", Indexable: &no}, ""},
		{"other self-labels", `{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r3","record":{"text":"#otan","langs":["fr"],"createdAt":"2025-11-06T10:00:00Z","labels":{"$type":"com.atproto.label.defs#selfLabels","values":[{"val":"graphic-media"}]}}}}`,
			post.Post{ID: "bluesky:at://did:plc:a/app.bsky.feed.post/r3", Text: "#otan", Lang: "fr", CreatedAt: time.Date(2025, 11, 6, 10, 0, 0, 0, time.UTC),
				Source: "bluesky-2", Author: "did:plc:a", URL: "https://bsky.app/profile/did:plc:a/post/r3"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, _ := b.event([]byte(tt.event))
			switch {
			case it == nil:
				t.Fatal("skipped, want an item")
			case tt.reason != "":
				if post.Reason(it.Err) != tt.reason {
					t.Errorf("err %v, want a reject for %s", it.Err, tt.reason)
				}
			case it.Err != nil || !reflect.DeepEqual(it.Post, tt.want):
				t.Errorf("item %+v (err %v)\nwant %+v", it.Post, it.Err, tt.want)
			}
		})
	}
	if got := testutil.ToFloat64(m.skipped.WithLabelValues("bluesky-2", SkipDelete)); got != 0 {
		t.Errorf("skipped deletes %v, want none", got)
	}
}
