package ingestcli

import (
	"context"
	"maps"
	"strings"
	"testing"

	"tagpulse/internal/publish/publishtest"
	"tagpulse/internal/source/jetstreamtest"
	"tagpulse/internal/testkit/stacktest"
)

// Bluesky posts reach Kafka with the tags Bluesky linked merged with
// those of their text, and a delete commit as the tombstone of its post,
// keyed by the post's id; a second run resumes at the saved cursor and
// publishes only what is new.
func TestRunOnceBluesky(t *testing.T) {
	kc := stacktest.Kafka(t, 2)
	events := jetstreamtest.ReadEvents(t, "../source/testdata/jetstream/stream.jsonl")
	srv := jetstreamtest.New(t, events...)
	state := t.TempDir()
	run := func() {
		t.Helper()
		args := append([]string{"run", "--once", "--source", "bluesky@1s=" + srv.URL, "--state-dir", state, "--metrics-addr", ""}, kafkaArgs(kc)...)
		if _, err := execute(context.Background(), t, args...); err != nil {
			t.Fatal(err)
		}
	}
	read := func() map[string]string {
		got := map[string]string{}
		for _, m := range publishtest.ReadAll(t, kc) {
			var tags []string
			for _, h := range m.Value.Hashtags {
				tags = append(tags, h.Tag)
			}
			key := m.Key
			if m.Value.Deleted {
				key = "deleted " + key
			}
			if _, dup := got[key]; dup {
				t.Errorf("%s published twice", key)
			}
			got[key] = m.Value.Lang + " " + strings.Join(tags, ",")
		}
		return got
	}
	want := map[string]string{
		"bluesky:at://did:plc:ann4example/app.bsky.feed.post/3m4aaa2post1": "fr otan",
		"bluesky:at://did:plc:cat4example/app.bsky.feed.post/3m4aaa3post2": "en rearmement",
		"bluesky:at://did:plc:eve4example/app.bsky.feed.post/3m4aaa6post3": "fr-FR defense",
		"bluesky:at://did:plc:hal4example/app.bsky.feed.post/3m4aab2post4": " nato",
		// The delete commit of a post of ann's.
		"deleted bluesky:at://did:plc:ann4example/app.bsky.feed.post/3m4aaa0old": " ",
	}
	run()
	if got := read(); !maps.Equal(got, want) {
		t.Fatalf("published\n got %v\nwant %v", got, want)
	}
	srv.Append([]byte(`{"did":"did:plc:ivy4example","time_us":1762423200012000,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3m4aab3post5","record":{"text":"later #OTAN","createdAt":"2025-11-06T10:01:00Z"}}}`))
	run()
	want["bluesky:at://did:plc:ivy4example/app.bsky.feed.post/3m4aab3post5"] = " otan"
	if got := read(); !maps.Equal(got, want) {
		t.Fatalf("after the second run\n got %v\nwant %v", got, want)
	}
	if qs := srv.Queries(); len(qs) != 2 || qs[1].Get("cursor") == "" {
		t.Errorf("queries %v: want the second run to resume at its cursor", qs)
	}
}

// A Bluesky bot's posts reach Kafka with the bot flag, the aggregator's
// cue to count them apart; the profiles that say so publish nothing.
func TestRunOnceBlueskyBots(t *testing.T) {
	kc := stacktest.Kafka(t, 2)
	srv := jetstreamtest.New(t, jetstreamtest.ReadEvents(t, "../source/testdata/jetstream/bots.jsonl")...)
	args := append([]string{"run", "--once", "--source", "bluesky@1s=" + srv.URL, "--state-dir", t.TempDir(), "--metrics-addr", ""}, kafkaArgs(kc)...)
	if _, err := execute(context.Background(), t, args...); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range publishtest.ReadAll(t, kc) {
		got[m.Key] = m.Value.Bot
	}
	// The bot's post while its profile said bot, a person's, the same
	// account's once the label was removed, a post self-labelled bot.
	want := map[string]bool{
		"bluesky:at://did:plc:bot4example/app.bsky.feed.post/3m4bbb1post1": true,
		"bluesky:at://did:plc:ann4example/app.bsky.feed.post/3m4bbb2post2": false,
		"bluesky:at://did:plc:bot4example/app.bsky.feed.post/3m4bbb4post3": false,
		"bluesky:at://did:plc:cat4example/app.bsky.feed.post/3m4bbb5post4": true,
	}
	if !maps.Equal(got, want) {
		t.Errorf("published (id: bot)\n got %v\nwant %v", got, want)
	}
}
