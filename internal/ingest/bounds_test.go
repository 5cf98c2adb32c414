package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"tagpulse/internal/hashtag"
	"tagpulse/internal/post"
	"tagpulse/internal/source"
)

// TestPollCreatedAtRange checks the one created_at policy every source is
// held to: a post dated before post.MinCreatedAt or more than
// MaxFutureSkew after now is rejected as invalid_value, whatever source
// built it (an RSS pubDate, a Mastodon status, a JSONL line).
func TestPollCreatedAtRange(t *testing.T) {
	dated := func(id string, at time.Time) source.Item {
		it := item(id, "#x")
		it.Post.CreatedAt = at
		return it
	}
	cfg := DefaultConfig()
	cfg.MaxFutureSkew = time.Hour
	tests := []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"now", t0, true},
		{"within the skew", t0.Add(time.Hour), true},
		{"past the skew", t0.Add(time.Hour + time.Second), false},
		{"year 9999", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"year 2100", time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"year 1", time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), false},
		{"Unix 0", time.Unix(0, 0), false},
		{"the floor", post.MinCreatedAt, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{}
			r, _ := newTestRunner(t, pub, cfg)
			_, stats, err := r.Poll(context.Background(), &staticSource{name: "rss-1", items: []source.Item{dated("a", tt.at)}})
			if err != nil {
				t.Fatal(err)
			}
			if got := stats.Published == 1; got != tt.ok {
				t.Fatalf("published %v, want %v (stats %+v)", got, tt.ok, stats)
			}
			if !tt.ok && stats.Rejected["invalid_value"] != 1 {
				t.Errorf("rejected %v, want invalid_value", stats.Rejected)
			}
			// The webhook's door: Deliver refuses it with the reason.
			_, err = r.Deliver(context.Background(), "webhook", []source.Item{dated("b", tt.at)})
			if (err == nil) != tt.ok || (err != nil && post.Reason(err) != "invalid_value") {
				t.Errorf("Deliver: %v, want ok=%v or invalid_value", err, tt.ok)
			}
		})
	}
}

// TestPollHashtagBounds checks that the extractor ingest publishes with
// keeps the bounds, and that what it drops is counted by reason.
func TestPollHashtagBounds(t *testing.T) {
	pub := &fakePublisher{}
	r := New(DefaultConfig(), pub, Hashtags, prometheus.NewPedanticRegistry(), slog.New(slog.DiscardHandler))
	r.now = func() time.Time { return t0 }
	var many strings.Builder
	for i := range hashtag.MaxTagsPerPost + 3 {
		fmt.Fprintf(&many, "#t%d ", i)
	}
	long := "#" + strings.Repeat("x", hashtag.MaxTagBytes+1)
	src := &staticSource{name: "rss-1", items: []source.Item{
		item("many", many.String()),
		item("long", long+" #ok "+long),
	}}
	if _, _, err := r.Poll(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, m := range pub.got {
		got[m.ID] = len(m.Hashtags)
	}
	if got["many"] != hashtag.MaxTagsPerPost || got["long"] != 1 {
		t.Errorf("tags published %v, want many: %d, long: 1", got, hashtag.MaxTagsPerPost)
	}
	for reason, want := range map[string]float64{dropTooMany: 3, dropTooLong: 2} {
		if n := testutil.ToFloat64(r.m.tagsDropped.WithLabelValues("rss-1", reason)); n != want {
			t.Errorf("tagpulse_ingest_hashtags_dropped_total{reason=%q} = %v, want %v", reason, n, want)
		}
	}
}
