package source

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"tagpulse/internal/post"
	"tagpulse/internal/source/jetstreamtest"
)

// profileEvent is a Jetstream commit of did's profile record (rkey self
// unless rkey says otherwise); labels are its self-labels, a record is
// sent for create and update only.
func profileEvent(did, op, rkey string, labels ...string) string {
	if rkey == "" {
		rkey = profileRKey
	}
	record := ""
	if op != "delete" {
		record = fmt.Sprintf(`,"record":{"$type":"app.bsky.actor.profile","displayName":"x","labels":%s}`, selfLabelsJSON(labels))
	}
	return fmt.Sprintf(`{"did":%q,"time_us":1,"kind":"commit","commit":{"operation":%q,"collection":"app.bsky.actor.profile","rkey":%q%s}}`, did, op, rkey, record)
}

// postEvent is a Jetstream create commit of a post of did, with labels as
// its self-labels.
func postEvent(did, rkey string, labels ...string) string {
	return fmt.Sprintf(`{"did":%q,"time_us":2,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":%q,"record":{"text":"#otan","createdAt":"2025-11-06T10:00:00Z","labels":%s}}}`, did, rkey, selfLabelsJSON(labels))
}

// selfLabelsJSON is a com.atproto.label.defs#selfLabels of the values.
func selfLabelsJSON(values []string) string {
	vals := make([]string, len(values))
	for i, v := range values {
		vals[i] = fmt.Sprintf(`{"val":%q}`, v)
	}
	return `{"$type":"com.atproto.label.defs#selfLabels","values":[` + strings.Join(vals, ",") + `]}`
}

// A post is a bot's when its own record self-labels it bot, or when its
// author's last profile seen did; profile events publish nothing.
func TestBlueskyBots(t *testing.T) {
	const did = "did:plc:bot"
	tests := []struct {
		name     string
		profiles []string // profile events read first, in order
		post     string
		want     bool // the post is a bot's
		hidden   bool // the post counts without text or author
	}{
		{"post self-labelled bot", nil, postEvent(did, "p", "bot"), true, false},
		{"post with other self-labels", nil, postEvent(did, "p", "graphic-media", "!no-unauthenticated"), false, true},
		{"profile self-labelled bot", []string{profileEvent(did, "create", "", "bot")}, postEvent(did, "p"), true, false},
		{"profile updated to bot", []string{profileEvent(did, "create", ""), profileEvent(did, "update", "", "bot")}, postEvent(did, "p"), true, false},
		{"profile asking not to be shown to the logged out", []string{profileEvent(did, "create", "", "!no-unauthenticated")}, postEvent(did, "p"), false, true},
		{"profile with both labels", []string{profileEvent(did, "create", "", "bot", "!no-unauthenticated")}, postEvent(did, "p"), true, true},
		{"profile asks no more", []string{profileEvent(did, "create", "", "!no-unauthenticated"), profileEvent(did, "update", "", "graphic-media")}, postEvent(did, "p"), false, false},
		{"profile with other labels", []string{profileEvent(did, "create", "", "graphic-media")}, postEvent(did, "p"), false, false},
		{"label removed", []string{profileEvent(did, "create", "", "bot"), profileEvent(did, "update", "")}, postEvent(did, "p"), false, false},
		{"profile deleted", []string{profileEvent(did, "create", "", "bot"), profileEvent(did, "delete", "")}, postEvent(did, "p"), false, false},
		{"another account's profile", []string{profileEvent("did:plc:other", "create", "", "bot")}, postEvent(did, "p"), false, false},
		{"a record other than the profile", []string{profileEvent(did, "create", "notself", "bot")}, postEvent(did, "p"), false, false},
		{"an unreadable update changes nothing", []string{profileEvent(did, "create", "", "bot"),
			`{"did":"did:plc:bot","time_us":1,"kind":"commit","commit":{"operation":"update","collection":"app.bsky.actor.profile","rkey":"self","record":{"labels":"bot"}}}`},
			postEvent(did, "p"), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt, m := streamOptions(t, nil)
			b := newBluesky(t, "wss://jetstream.example/subscribe", opt)
			for _, ev := range tt.profiles {
				it, at := b.event([]byte(ev))
				if it != nil || at != 1 {
					t.Fatalf("profile event gave item %+v at %d: want nothing published, its time_us for the cursor", it, at)
				}
			}
			if got := testutil.ToFloat64(m.skipped.WithLabelValues("bluesky-2", SkipProfile)); got != float64(len(tt.profiles)) {
				t.Errorf("skipped profiles %v, want %d", got, len(tt.profiles))
			}
			it, _ := b.event([]byte(tt.post))
			if it == nil || it.Err != nil {
				t.Fatalf("post gave %+v: want a post", it)
			}
			if it.Post.Bot != tt.want {
				t.Errorf("post bot %v, want %v", it.Post.Bot, tt.want)
			}
			if hidden := it.Post.Indexable != nil && !*it.Post.Indexable; hidden != tt.hidden {
				t.Errorf("post counted without text and author: %v, want %v", hidden, tt.hidden)
			}
		})
	}
}

// The set of bot accounts holds at most its bound: the account seen least
// recently (profile or post) is forgotten first.
func TestBlueskyBotsBound(t *testing.T) {
	opt, m := streamOptions(t, nil)
	b := newBluesky(t, "wss://jetstream.example/subscribe", opt)
	accounts, err := newBlueskyAccounts(2, m.blueskyAccounts.WithLabelValues("bluesky-2"))
	if err != nil {
		t.Fatal(err)
	}
	b.accounts = accounts
	isBot := func(did string) bool {
		t.Helper()
		it, _ := b.event([]byte(postEvent(did, "p")))
		if it == nil || it.Err != nil {
			t.Fatalf("post of %s gave %+v: want a post", did, it)
		}
		return it.Post.Bot
	}
	b.event([]byte(profileEvent("did:plc:a", "create", "", "bot")))
	b.event([]byte(profileEvent("did:plc:b", "create", "", "bot")))
	if !isBot("did:plc:a") { // a is now the most recently seen
		t.Fatal("did:plc:a: want a bot")
	}
	b.event([]byte(profileEvent("did:plc:c", "create", "", "bot")))
	got := map[string]bool{}
	for _, did := range []string{"did:plc:a", "did:plc:b", "did:plc:c"} {
		got[did] = isBot(did)
	}
	if want := map[string]bool{"did:plc:a": true, "did:plc:b": false, "did:plc:c": true}; !maps.Equal(got, want) {
		t.Errorf("bots %v, want %v (b, the least recently seen, evicted)", got, want)
	}
	if n := testutil.ToFloat64(m.blueskyAccounts.WithLabelValues("bluesky-2")); n != 2 {
		t.Errorf("bot accounts gauge %v, want 2", n)
	}
	// A DID longer than an author may be is not remembered (its posts
	// are rejected anyway), so it cannot make the set hold more bytes.
	long := "did:web:" + strings.Repeat("a", post.MaxFieldBytes)
	b.event([]byte(profileEvent(long, "create", "", "bot")))
	if b.accounts.labels(long).bot || !b.accounts.labels("did:plc:a").bot || !b.accounts.labels("did:plc:c").bot {
		t.Errorf("a DID over %d bytes was remembered, or evicted another", post.MaxFieldBytes)
	}
}

// Over a stream: the source asks for profiles too, publishes the posts
// only, each with its bot flag, and its cursor moves past the profile
// events.
func TestBlueskyBotsStream(t *testing.T) {
	events := jetstreamtest.ReadEvents(t, "testdata/jetstream/bots.jsonl")
	srv := jetstreamtest.New(t, events...)
	opt, m := streamOptions(t, nil)
	b := newBluesky(t, srv.URL, opt)
	items, _ := drain(context.Background(), t, b, 4, true)
	// The bot's post while its profile says bot, a person's, the same
	// account's after it removed the label, a post self-labelled bot.
	want := []string{
		blueskyPostID("did:plc:bot4example", "3m4bbb1post1") + " bot",
		blueskyPostID("did:plc:ann4example", "3m4bbb2post2"),
		blueskyPostID("did:plc:bot4example", "3m4bbb4post3"),
		blueskyPostID("did:plc:cat4example", "3m4bbb5post4") + " bot",
	}
	var got []string
	for _, it := range items {
		if it.Post.Bot {
			it.Post.ID += " bot"
		}
		got = append(got, it.Post.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("published %q\nwant %q (the posts only, with their bot flags)", got, want)
	}
	last := jetstreamtest.TimeUS(events[len(events)-1])
	for deadline := time.Now().Add(5 * time.Second); b.cursor.value.TimeUS != last && time.Now().Before(deadline); {
		pollCommit(t, b) // the trailing profile delete publishes nothing, but is read
	}
	if got := b.cursor.value.TimeUS; got != last {
		t.Errorf("cursor %d, want %d, the time of the last event (a profile delete)", got, last)
	}
	if got := testutil.ToFloat64(m.skipped.WithLabelValues("bluesky-2", SkipProfile)); got != 3 {
		t.Errorf("skipped profiles %v, want 3", got)
	}
	if q := srv.Queries()[0]; !slices.Equal(q["wantedCollections"], []string{"app.bsky.feed.post", "app.bsky.actor.profile"}) {
		t.Errorf("wantedCollections %q, want posts and profiles", q["wantedCollections"])
	}
}

// A profile event is bounded as every message is: one over the bound is a
// too_large reject, read no further (its label is not seen), and the
// stream goes on.
func TestBlueskyBotsProfileTooLarge(t *testing.T) {
	big := fmt.Sprintf(`{"did":"did:plc:big","time_us":1762423300000000,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.actor.profile","rkey":"self","record":{"description":%q,"labels":%s}}}`,
		strings.Repeat("x", 8000), selfLabelsJSON([]string{"bot"}))
	after := strings.Replace(postEvent("did:plc:big", "p"), `"time_us":2`, `"time_us":1762423300001000`, 1)
	srv := jetstreamtest.New(t, []byte(big), []byte(after))
	opt, _ := streamOptions(t, nil)
	opt.MaxMessageBytes = 4096
	b := newBluesky(t, srv.URL, opt)
	items, _ := drain(context.Background(), t, b, 2, true)
	if !errors.Is(items[0].Err, post.ErrTooLarge) || items[1].Err != nil || items[1].Post.Bot {
		t.Errorf("items %+v: want a too_large reject, then the post, not a bot's", items)
	}
}
