package corpus

import (
	"bufio"
	"bytes"
	"slices"
	"testing"
	"time"

	"tagpulse/internal/hashtag"
	"tagpulse/internal/post"
	"tagpulse/internal/trend"
)

// demoPosts generates the demo set at now and decodes it.
func demoPosts(t *testing.T, now time.Time) ([]post.Post, Expected) {
	t.Helper()
	var buf bytes.Buffer
	exp, err := GenerateDemo(&buf, DemoOptions{Now: now, Days: 4, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	var out []post.Post
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		p, err := post.DecodePost(sc.Bytes(), post.DecodeOptions{})
		if err != nil {
			t.Fatalf("demo post %d does not decode: %v", len(out), err)
		}
		out = append(out, p)
	}
	return out, exp
}

// The demo's hand-written keys must be what the extractor finds, and no
// post may be dated after now or before the days asked for.
func TestDemoOracleMatchesExtractor(t *testing.T) {
	now := time.Date(2026, 12, 7, 5, 40, 12, 0, time.UTC)
	posts, exp := demoPosts(t, now)
	if len(posts) != exp.Posts || exp.Posts < 2000 {
		t.Fatalf("decoded %d posts, generator says %d (want a few thousand)", len(posts), exp.Posts)
	}
	got := map[string]int{}
	ids := map[string]bool{}
	for _, p := range posts {
		if p.CreatedAt.After(now) || p.CreatedAt.Before(now.Add(-5*24*time.Hour)) {
			t.Errorf("post %s is dated %s, outside the 4 days before %s", p.ID, p.CreatedAt, now)
		}
		if ids[p.ID] {
			t.Errorf("id %s is used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Author == "" || p.URL == "" || p.Lang == "" || p.Source == "" {
			t.Errorf("post %s lacks author, url, lang or source: %+v", p.ID, p)
		}
		for _, tag := range hashtag.Distinct(p.Text) {
			got[tag.Tag]++
		}
	}
	for k, n := range exp.Tags {
		if got[k] != n {
			t.Errorf("tag %q: extractor counts %d posts, generator %d", k, got[k], n)
		}
	}
	if len(got) != len(exp.Tags) {
		t.Errorf("extractor found %d tags, generator wrote %d", len(got), len(exp.Tags))
	}
}

// A re-run later in the same hour republishes every post of the first run
// unchanged (same id, time and text), so counts do not double.
func TestDemoRerunRepublishesSamePosts(t *testing.T) {
	first := time.Date(2026, 12, 7, 5, 10, 0, 0, time.UTC)
	a, _ := demoPosts(t, first)
	b, _ := demoPosts(t, first.Add(40*time.Minute))
	byID := map[string]post.Post{}
	for _, p := range b {
		byID[p.ID] = p
	}
	for _, p := range a {
		q, ok := byID[p.ID]
		if !ok || !q.CreatedAt.Equal(p.CreatedAt) || q.Text != p.Text {
			t.Fatalf("post %s of the first run is not republished unchanged: %+v then %+v", p.ID, p, q)
		}
	}
	if len(b) <= len(a) {
		t.Errorf("the later run has %d posts, the first %d: want the 40 minutes between them added", len(b), len(a))
	}
}

// Wherever now falls in its hour, the 1h trending list (24 windows of
// history) starts with the burst tags, and no steady tag trends.
func TestDemoTrendsInEveryMinuteOfTheHour(t *testing.T) {
	p := trend.DefaultParams()
	burst, steady := keysOf(DemoBurstTags), keysOf(DemoSteadyTags)
	for _, minute := range []int{0, 1, 17, 30, 45, 59} {
		now := time.Date(2026, 12, 7, 5, minute, 30, 0, time.UTC)
		posts, _ := demoPosts(t, now)
		end := now.Truncate(time.Minute).Add(time.Minute)
		slots := map[string][]uint64{}
		for _, q := range posts {
			// Window 0 is [end-1h, end): a post at end-1h is in it.
			w := int((end.Sub(q.CreatedAt) - 1) / time.Hour)
			if w > p.BaselineWindows {
				continue
			}
			for _, tag := range hashtag.Distinct(q.Text) {
				if slots[tag.Tag] == nil {
					slots[tag.Tag] = make([]uint64, p.BaselineWindows+1)
				}
				slots[tag.Tag][w]++
			}
		}
		got := p.Rank(slots, 20)
		t.Logf("minute %d: %+v", minute, got)
		var tags []string
		for _, tr := range got {
			tags = append(tags, tr.Tag)
		}
		if len(tags) < len(burst) || !sameSet(tags[:len(burst)], burst) {
			t.Errorf("minute %d: trending %v, want %v first: %+v", minute, tags, burst, got)
		}
		for _, tag := range tags {
			if slices.Contains(steady, tag) {
				t.Errorf("minute %d: steady tag %s trends: %+v", minute, tag, got)
			}
		}
	}
}

func keysOf(display []string) []string {
	out := make([]string, len(display))
	for i, d := range display {
		out[i] = demoKeys[d]
	}
	return out
}

func sameSet(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(s string) bool { return !slices.Contains(b, s) })
}
