package ingest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"tagpulse/internal/post"
	"tagpulse/internal/source"
)

// A source's tombstones, non-public posts and posts of excluded accounts:
// tombstones are published as they are (no created_at invented, no tags,
// nothing but their id, time and source), the others are counted as
// skipped and not published; a non-indexable post is published with its
// flag.
func TestPollSignals(t *testing.T) {
	excl, err := LoadExclusions([]string{"spammer@flood.example"}, []string{"spam.example"}, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Exclusions = excl
	no := false
	tests := []struct {
		name string
		it   source.Item
		want *post.Message // the message published; nil when none is
		skip string        // the skip reason, when not published
	}{
		{"tombstone without time",
			source.Item{Post: post.Post{ID: "t1", Deleted: true, Source: "file"}},
			&post.Message{Post: post.Post{ID: "t1", Deleted: true, Source: "file"}, Hashtags: []post.Hashtag{}, ExtractorVersion: 3}, ""},
		{"tombstone with its post's time, text and tags dropped",
			source.Item{Post: post.Post{ID: "t2", Deleted: true, CreatedAt: t0.Add(-time.Hour), Text: "#gone", Tags: []string{"gone"}, Author: "ann", URL: "https://x.example/1", Lang: "fr", Indexable: &no, Source: "file"}},
			&post.Message{Post: post.Post{ID: "t2", Deleted: true, CreatedAt: t0.Add(-time.Hour), Source: "file"}, Hashtags: []post.Hashtag{}, ExtractorVersion: 3}, ""},
		{"tombstone of an excluded account's post",
			source.Item{Post: post.Post{ID: "t3", Deleted: true, Author: "spammer@flood.example"}},
			&post.Message{Post: post.Post{ID: "t3", Deleted: true}, Hashtags: []post.Hashtag{}, ExtractorVersion: 3}, ""},
		{"public, said so",
			source.Item{Post: post.Post{ID: "p1", Text: "#x", CreatedAt: t0, Visibility: "public"}},
			&post.Message{Post: post.Post{ID: "p1", Text: "#x", CreatedAt: t0}, Hashtags: []post.Hashtag{{Tag: "x", Display: "x"}}, ExtractorVersion: 3}, ""},
		{"not indexable: published with its flag",
			source.Item{Post: post.Post{ID: "p2", Text: "#x", CreatedAt: t0, Author: "ann", Indexable: &no}},
			&post.Message{Post: post.Post{ID: "p2", Text: "#x", CreatedAt: t0, Author: "ann", Indexable: &no}, Hashtags: []post.Hashtag{{Tag: "x", Display: "x"}}, ExtractorVersion: 3}, ""},
		{"unlisted", source.Item{Post: post.Post{ID: "p3", Text: "#x", CreatedAt: t0, Visibility: "unlisted"}}, nil, SkipNotPublic},
		{"direct", source.Item{Post: post.Post{ID: "p4", Text: "#x", CreatedAt: t0, Visibility: "direct"}}, nil, SkipNotPublic},
		{"an excluded account", source.Item{Post: post.Post{ID: "p5", Text: "#x", CreatedAt: t0, Author: "@Spammer@flood.example"}}, nil, SkipExcluded},
		{"an excluded instance", source.Item{Post: post.Post{ID: "p6", Text: "#x", CreatedAt: t0, URL: "https://spam.example/1"}}, nil, SkipExcluded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{}
			r, _ := newTestRunner(t, pub, cfg)
			_, stats, err := r.Poll(context.Background(), &staticSource{name: "file", items: []source.Item{tt.it}})
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if len(pub.got) != 0 || stats.Skipped[tt.skip] != 1 || stats.Published != 0 {
					t.Errorf("published %+v, stats %+v; want nothing published, one skipped %s", pub.got, stats, tt.skip)
				}
				if got := testutil.ToFloat64(r.m.skipped.WithLabelValues("file", tt.skip)); got != 1 {
					t.Errorf("skipped{reason=%s} = %v, want 1", tt.skip, got)
				}
				return
			}
			if len(pub.got) != 1 || !reflect.DeepEqual(pub.got[0], *tt.want) {
				t.Fatalf("published %+v\nwant %+v", pub.got, *tt.want)
			}
			tombstones := 0
			if tt.want.Deleted {
				tombstones = 1
			}
			if stats.Published != 1 || stats.Tombstones != tombstones || stats.SkippedTotal() != 0 {
				t.Errorf("stats %+v, want 1 published, %d tombstones", stats, tombstones)
			}
			if got := testutil.ToFloat64(r.m.tombstones.WithLabelValues("file")); got != float64(tombstones) {
				t.Errorf("tombstones metric %v, want %d", got, tombstones)
			}
			// What aggregate reads back.
			b, err := post.AppendMessage(nil, &pub.got[0])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := post.DecodeMessage(b); err != nil {
				t.Errorf("message %s does not decode: %v", b, err)
			}
		})
	}
}

// A tombstone with a created_at out of range is rejected as a post is.
func TestTombstoneTimeIsChecked(t *testing.T) {
	pub := &fakePublisher{}
	r, _ := newTestRunner(t, pub, DefaultConfig())
	_, stats, err := r.Poll(context.Background(), &staticSource{name: "file", items: []source.Item{
		{Post: post.Post{ID: "t", Deleted: true, CreatedAt: t0.Add(48 * time.Hour)}},
		{Post: post.Post{ID: " ", Deleted: true}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pub.got) != 0 || stats.Rejected["invalid_value"] != 1 || stats.Rejected["missing_field"] != 1 {
		t.Errorf("published %d, rejected %v; want none published, one invalid_value and one missing_field", len(pub.got), stats.Rejected)
	}
}

// Deliver publishes the public posts of a request and returns the others
// as skipped, with their reason.
func TestDeliverSkipped(t *testing.T) {
	pub := &fakePublisher{}
	r, _ := newTestRunner(t, pub, DefaultConfig())
	skipped, err := r.Deliver(context.Background(), "webhook", []source.Item{
		item("a", "#x"),
		{Post: post.Post{ID: "b", Text: "#y", CreatedAt: t0, Visibility: "private"}},
		{Post: post.Post{ID: "c", Deleted: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []source.Skipped{{ID: "b", Reason: SkipNotPublic}}; !reflect.DeepEqual(skipped, want) {
		t.Errorf("skipped %v, want %v", skipped, want)
	}
	if len(pub.got) != 2 {
		t.Errorf("published %d, want the post and the tombstone", len(pub.got))
	}
}
