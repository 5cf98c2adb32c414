package aggregator

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tagpulse/internal/chstore"
	"tagpulse/internal/hashtag"
	"tagpulse/internal/post"
	"tagpulse/internal/testkit/stacktest"
)

// oldExtractorPosts returns n posts created on day whose text holds
// #Right, and whose message carries the tags an old, wrong extractor found
// in it: "wrong" besides "right".
func oldExtractorPosts(prefix string, n int, day time.Time) []post.Message {
	out := make([]post.Message, n)
	for i := range out {
		out[i] = post.Message{
			Post: post.Post{
				ID: fmt.Sprintf("%s-%d", prefix, i), Text: "about #Right and wrong",
				CreatedAt: day.Add(time.Duration(i) * time.Minute), Source: "file", Lang: "en",
			},
			Hashtags:         []post.Hashtag{{Tag: "right", Display: "Right"}, {Tag: "wrong", Display: "wrong"}},
			ExtractorVersion: 0,
		}
	}
	return out
}

// displayTags returns the tags tag_display_day holds per day, once the
// rollups are up to date (stacktest.TagTotals brings them there).
func displayTags(t *testing.T, s stack) map[string][]string {
	t.Helper()
	stacktest.TagTotals(t, s.conn)
	rows, err := s.conn.Query(context.Background(), "SELECT toString(toDate(day)), groupArray(tag) FROM (SELECT DISTINCT day, tag FROM tag_display_day ORDER BY tag) GROUP BY day")
	if err != nil {
		t.Fatalf("reading tag_display_day: %v", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var day string
		var tags []string
		if err := rows.Scan(&day, &tags); err != nil {
			t.Fatal(err)
		}
		out[day] = tags
	}
	return out
}

// TestReplayByCreatedAtAndRebuild counts posts of two days with tags an
// old extractor found wrongly. A replay by created_at reads the whole
// topic and keeps one day's posts, changing nothing (it only adds). A
// rebuild of that day drops its counts and recomputes them with the
// current extractor: the wrong tag is gone from that day, and only there.
func TestReplayByCreatedAtAndRebuild(t *testing.T) {
	s := newStack(t, 3)
	day1 := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	day2 := day1.AddDate(0, 0, 1)
	first, second := oldExtractorPosts("d1", 40, day1.Add(10*time.Hour)), oldExtractorPosts("d2", 30, day2.Add(10*time.Hour))
	publish(t, s.kafka, first)
	publish(t, s.kafka, second)
	runCaughtUp(t, s, testConfig(s.kafka.Topic+"-group"))
	assertCounts(t, s.conn, first, second)

	c := New(Options{Config: testConfig("unused"), Kafka: s.kafka, Store: s.conn, Metrics: NewMetrics(prometheus.NewRegistry()), Log: testLogger(t)})
	ctx := context.Background()
	st, err := c.Replay(ctx, ReplayOptions{CreatedSince: day1, CreatedUntil: day2})
	if err != nil {
		t.Fatalf("replay by created_at: %v", err)
	}
	if st.Messages != 70 || st.Kept != 40 || st.Rows != 80 {
		t.Errorf("replay by created_at: %+v; want 70 read, 40 kept, 80 rows", st)
	}
	assertCounts(t, s.conn, first, second)

	if _, err := c.Rebuild(ctx, RebuildOptions{From: day1.Add(time.Hour), To: day2}); !errors.Is(err, chstore.ErrNotWholeDays) {
		t.Fatalf("rebuild of a range that is not whole days: %v, want ErrNotWholeDays", err)
	}
	rs, err := c.Rebuild(ctx, RebuildOptions{From: day1, To: day2})
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if !reflect.DeepEqual(rs.Days, []string{day1.Format(time.DateOnly)}) || rs.Kept != 40 || rs.Rows != 40 {
		t.Errorf("rebuild: %+v; want day %s, 40 posts kept, 40 rows (one tag each)", rs, day1.Format(time.DateOnly))
	}
	fixed := make([]post.Message, len(first))
	for i, p := range first {
		p.Hashtags = []post.Hashtag{{Tag: "right", Display: "Right"}}
		fixed[i] = p
	}
	assertCounts(t, s.conn, fixed, second)
	want := map[string][]string{day1.Format(time.DateOnly): {"right"}, day2.Format(time.DateOnly): {"right", "wrong"}}
	if got := displayTags(t, s); !reflect.DeepEqual(got, want) {
		t.Errorf("tag_display after the rebuild: %v, want %v", got, want)
	}
	var oldRows uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM mentions WHERE toDate(created_at) = toDate(?) AND extractor_version != ?",
		day1.Format(time.DateOnly), uint16(hashtag.Version)).Scan(&oldRows); err != nil {
		t.Fatal(err)
	}
	if oldRows != 0 {
		t.Errorf("mention rows of the rebuilt day by another extractor version than %d: %d, want none", hashtag.Version, oldRows)
	}
}
