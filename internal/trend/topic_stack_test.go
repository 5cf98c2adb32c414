package trend_test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/deletion"
	"tagpulse/internal/rollup"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/topic"
	"tagpulse/internal/trend"
	"tagpulse/internal/trend/trendtest"
)

// topicStory is 80 hours of posts before at: each hour, posts tagged
// #NATO and #OTAN both (a topic of both must count them once), #OTAN
// alone, #NAVO, and an unrelated #EU; some without author, one bot's and
// one deleted at its source per few hours; from two sources.
func topicStory(at time.Time) (ms []trendtest.Mention, deleted map[string]bool) {
	deleted = map[string]bool{}
	start := at.Truncate(time.Hour).Add(-79 * time.Hour)
	for h := range 80 {
		for p := range 6 {
			id := fmt.Sprintf("h%d-p%d", h, p)
			t := start.Add(time.Duration(h)*time.Hour + time.Duration(p*9+h%7)*time.Minute + 13*time.Second)
			if t.After(at) {
				continue
			}
			var tags []string
			switch p {
			case 0, 1:
				tags = []string{"nato", "otan"}
			case 2:
				tags = []string{"otan"}
			case 3:
				tags = []string{"navo", "eu"}
			case 4:
				tags = []string{"nato"}
			case 5:
				tags = []string{"eu"}
			}
			account := fmt.Sprintf("a%d", (h*6+p)%11)
			if p == 4 {
				account = ""
			}
			for _, tag := range tags {
				ms = append(ms, trendtest.Mention{PostID: id, Account: account, Tag: tag, Display: tag, At: t,
					Source: []string{"rss", "mastodon"}[p%2], Lang: "en", Bot: h%5 == 0 && p == 1})
			}
			if h%6 == 0 && p == 2 {
				deleted[id] = true
			}
		}
	}
	return ms, deleted
}

// wantTopic counts in Go a topic's distinct posts and accounts in
// [from, to) under source ("" for all), and each member tag's posts.
func wantTopic(ms []trendtest.Mention, deleted map[string]bool, tags []string, from, to time.Time, source string) (posts, accounts uint64, perTag map[string]uint64) {
	ps, as := map[string]bool{}, map[string]bool{}
	tagPosts := map[string]map[string]bool{}
	for _, m := range ms {
		if m.At.Before(from) || !m.At.Before(to) || m.Bot || deleted[m.PostID] || (source != "" && m.Source != source) {
			continue
		}
		for _, tag := range tags {
			if m.Tag != tag {
				continue
			}
			ps[m.PostID] = true
			a := m.Account
			if a == "" {
				a = "post:" + m.PostID
			}
			as[a] = true
			if tagPosts[tag] == nil {
				tagPosts[tag] = map[string]bool{}
			}
			tagPosts[tag][m.PostID] = true
		}
	}
	perTag = map[string]uint64{}
	for _, tag := range tags {
		perTag[tag] = uint64(len(tagPosts[tag]))
	}
	return uint64(len(ps)), uint64(len(as)), perTag
}

func storeTopicStory(t *testing.T, conn driver.Conn, at time.Time) ([]trendtest.Mention, map[string]bool) {
	t.Helper()
	ms, deleted := topicStory(at)
	trendtest.Insert(t, conn, ms)
	trendtest.Insert(t, conn, ms) // a replay: copies fold and count once
	var tombs []deletion.Tombstone
	for _, m := range ms {
		if deleted[m.PostID] {
			tombs = append(tombs, deletion.Tombstone{PostID: m.PostID, CreatedAt: m.At, DeletedAt: at})
		}
	}
	ctx := context.Background()
	hours, err := deletion.Store(ctx, conn, tombs, at)
	if err == nil {
		err = rollup.Mark(ctx, conn, hours, at)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ms, deleted
}

func TestTopicReadsCountTheUnionExactly(t *testing.T) {
	t.Parallel()
	_, conn := stacktest.MigratedClickHouse(t)
	ctx := context.Background()
	at := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	ms, deleted := storeTopicStory(t, conn, at)
	// Defined after the posts were stored (and, below, rolled up).
	topics := topic.NewStore(conn, rollup.MarkTopics)
	if _, err := topics.Load(ctx, map[string][]string{"nato": {"NATO", "#OTAN", "navo"}, "eu": {"eu"}}, "test"); err != nil {
		t.Fatal(err)
	}
	store := trend.NewStore(conn, trend.DefaultParams())
	worker := rollup.NewWorker(conn, nil, nil)
	defs := map[string][]string{"nato": {"nato", "navo", "otan"}, "eu": {"eu"}}

	check := func(t *testing.T) {
		t.Helper()
		for _, tc := range []struct {
			window time.Duration
			source string
		}{{time.Hour, ""}, {24 * time.Hour, ""}, {50*time.Hour + 17*time.Minute, ""}, {72 * time.Hour, "rss"}} {
			name := fmt.Sprintf("%s %s", trend.FormatDuration(tc.window), tc.source)
			from, to := trend.Span(at, tc.window)
			got, err := store.Top(ctx, trend.Query{At: at, Window: tc.window, Limit: 10, Topics: true, Filter: trend.Filter{Source: tc.source}})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var want []trend.Count
			for _, n := range []string{"nato", "eu"} {
				if defs[n] == nil {
					continue
				}
				posts, accounts, perTag := wantTopic(ms, deleted, defs[n], from, to, tc.source)
				c := trend.Count{Topic: n, Display: n, Count: posts, Accounts: accounts}
				for _, tag := range defs[n] {
					c.Members = append(c.Members, trend.TagCount{Tag: tag, Count: perTag[tag]})
				}
				slices.SortStableFunc(c.Members, func(a, b trend.TagCount) int { return cmp.Compare(b.Count, a.Count) })
				if posts > 0 {
					want = append(want, c)
				}
			}
			slices.SortStableFunc(want, func(a, b trend.Count) int {
				return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Topic, b.Topic))
			})
			if len(want) == 0 {
				t.Fatalf("%s: the story has no post of a topic; the test means nothing", name)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: Top by topic =\n%+v\nwant\n%+v", name, got, want)
			}
			// Posts with two of a topic's tags count once: the topic has
			// fewer posts than its tags together.
			var sum uint64
			for _, m := range got[0].Members {
				sum += m.Count
			}
			if got[0].Topic == "nato" && len(defs["nato"]) == 3 && sum <= got[0].Count {
				t.Errorf("%s: nato has %d posts and its tags %d together; a post with #nato and #otan counted twice?", name, got[0].Count, sum)
			}
		}
		// A series by topic: every hourly step is exact.
		series, err := store.Series(ctx, trend.SeriesQuery{At: at, Window: 24 * time.Hour, Step: time.Hour, Tags: []string{"nato"}, Topics: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range series[0].Points {
			posts, accounts, _ := wantTopic(ms, deleted, defs["nato"], p.Time, p.End, "")
			if p.Count != posts || p.Accounts != accounts {
				t.Errorf("series step %s: %d posts %d accounts, want %d and %d", p.Time.Format(time.RFC3339), p.Count, p.Accounts, posts, accounts)
			}
		}
		if series[0].Topic != "nato" || series[0].Tag != "" {
			t.Errorf("series names %+v, want the topic nato", series[0])
		}
		trends, err := store.Trending(ctx, trend.Query{At: at, Window: time.Hour, Limit: 10, Topics: true})
		if err != nil {
			t.Fatal(err)
		}
		from, to := trend.Span(at, time.Hour)
		for _, tr := range trends {
			posts, _, _ := wantTopic(ms, deleted, defs[tr.Topic], from, to, "")
			if tr.Topic == "" || tr.Count != posts || len(tr.Members) != len(defs[tr.Topic]) {
				t.Errorf("trending topic %+v: want %d posts and %d members", tr, posts, len(defs[tr.Topic]))
			}
		}
	}

	// A tag page names the topics its tag belongs to.
	for tag, want := range map[string][]string{"navo": {"nato"}, "eu": {"eu"}, "absent": {}} {
		page, err := store.Tag(ctx, trend.TagQuery{Tag: tag, At: at, Window: time.Hour})
		if err != nil || !reflect.DeepEqual(page.Topics, want) {
			t.Errorf("the page of #%s names topics %v (%v), want %v", tag, page.Topics, err, want)
		}
	}

	t.Run("from mentions, before the rollup", check)
	if err := worker.CatchUp(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	st, err := rollup.Load(ctx, conn, at.Add(-48*time.Hour), at)
	if err != nil || !st.DayDone(rollup.TopicTiers.Day, rollup.Day(at).Add(-24*time.Hour)) {
		t.Fatalf("topic_day of the day before is not trusted after catching up (%v): the reads would not use it", err)
	}
	t.Run("from the tiers, rolled up", check)

	// An edit changes the counts of all history, at once (reads fall back
	// to mentions) and after the worker redid the days.
	if _, err := topics.Remove(ctx, "nato", "test", "otan"); err != nil {
		t.Fatal(err)
	}
	defs["nato"] = []string{"nato", "navo"}
	t.Run("after an edit, before the rollup", check)
	if err := worker.CatchUp(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	t.Run("after an edit, rolled up", check)
	if _, err := topics.Delete(ctx, "eu", "test"); err != nil {
		t.Fatal(err)
	}
	delete(defs, "eu")
	t.Run("after a topic is deleted", check)
}
