package rollup_test

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chstore"
	"tagpulse/internal/deletion"
	"tagpulse/internal/rollup"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/topic"
)

// topicPost is a post of the topic tests: its tags, author, and whether
// it is a bot's or deleted.
type topicPost struct {
	id      string
	account string
	tags    []string
	at      time.Time
	bot     bool
	deleted bool
}

// topicHistory is posts over the three days before end: most carry #nato
// and #otan both (they must count once), some one of them, some #navo or
// an unrelated tag, and a few are bots' or deleted.
func topicHistory(end time.Time) []topicPost {
	var out []topicPost
	start := end.Add(-72 * time.Hour)
	for i := range 400 {
		p := topicPost{id: fmt.Sprintf("p%d", i), account: fmt.Sprintf("a%d", i%13), at: start.Add(time.Duration(i) * 72 * time.Hour / 400).Add(7 * time.Minute)}
		switch i % 5 {
		case 0, 1:
			p.tags = []string{"nato", "otan"}
		case 2:
			p.tags = []string{"otan"}
		case 3:
			p.tags = []string{"navo", "other"}
		case 4:
			p.tags = []string{"other"}
		}
		if i%9 == 0 {
			p.account = "" // counts as its own account
		}
		p.bot = i%31 == 0
		p.deleted = i%37 == 0
		out = append(out, p)
	}
	return out
}

func storeTopicHistory(t *testing.T, conn driver.Conn, posts []topicPost) {
	t.Helper()
	ctx := context.Background()
	var rows []chstore.Mention
	var tombs []deletion.Tombstone
	for _, p := range posts {
		for _, tag := range p.tags {
			rows = append(rows, chstore.Mention{PostID: p.id, Account: p.account, Tag: tag, Display: tag, CreatedAt: p.at,
				Source: "rss", Lang: "en", InsertedAt: time.Now().UTC(), Bot: p.bot})
		}
		if p.deleted {
			tombs = append(tombs, deletion.Tombstone{PostID: p.id, CreatedAt: p.at, DeletedAt: p.at})
		}
	}
	// Inserted twice: copies fold, and must count once.
	for range 2 {
		if err := chstore.InsertMentions(ctx, conn, rows); err != nil {
			t.Fatal(err)
		}
	}
	hours, err := deletion.Store(ctx, conn, tombs, time.Now())
	if err == nil {
		err = rollup.Mark(ctx, conn, hours, time.Now())
	}
	if err != nil {
		t.Fatal(err)
	}
}

// bucketCount is a topic's distinct posts and accounts in one bucket.
type bucketCount struct{ Posts, Accounts uint64 }

// wantTopicDays counts, in Go, each topic's distinct posts and accounts per
// ended day over the union of its tags, leaving out bots and deleted
// posts.
func wantTopicDays(posts []topicPost, defs map[string][]string, end time.Time) map[string]bucketCount {
	type sets struct{ posts, accounts map[string]bool }
	acc := map[string]*sets{}
	for _, p := range posts {
		if p.bot || p.deleted || !rollup.Day(p.at).Add(24*time.Hour).Before(end.Add(time.Nanosecond)) {
			continue
		}
		for name, tags := range defs {
			hit := false
			for _, tag := range p.tags {
				for _, want := range tags {
					hit = hit || tag == want
				}
			}
			if !hit {
				continue
			}
			k := rollup.Day(p.at).Format(time.DateOnly) + " " + name
			if acc[k] == nil {
				acc[k] = &sets{map[string]bool{}, map[string]bool{}}
			}
			account := p.account
			if account == "" {
				account = "post:" + p.id
			}
			acc[k].posts[p.id], acc[k].accounts[account] = true, true
		}
	}
	out := map[string]bucketCount{}
	for k, s := range acc {
		out[k] = bucketCount{uint64(len(s.posts)), uint64(len(s.accounts))}
	}
	return out
}

// topicDays reads topic_day's all-sources rows.
func topicDays(t *testing.T, conn driver.Conn) map[string]bucketCount {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT day, topic, sum(posts), uniqCombinedMerge(15)(accounts)
FROM topic_day WHERE source = '*' AND lang = '*' GROUP BY day, topic`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bucketCount{}
	for rows.Next() {
		var (
			day   time.Time
			name  string
			count bucketCount
		)
		if err := rows.Scan(&day, &name, &count.Posts, &count.Accounts); err != nil {
			t.Fatal(err)
		}
		out[day.UTC().Format(time.DateOnly)+" "+name] = count
	}
	return out
}

func TestTopicRollupCountsTheUnionRetroactivelyAndFollowsEdits(t *testing.T) {
	t.Parallel()
	_, conn := stacktest.MigratedClickHouse(t)
	ctx := context.Background()
	end := time.Now().UTC().Truncate(24 * time.Hour)
	posts := topicHistory(end)
	storeTopicHistory(t, conn, posts)
	w := rollup.NewWorker(conn, nil, nil)
	if err := w.CatchUp(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := topicDays(t, conn); len(got) != 0 {
		t.Fatalf("topic_day holds %v before any topic is defined", got)
	}

	// Defined after the posts were stored and rolled up: the topic counts
	// them all the same.
	topics := topic.NewStore(conn, rollup.MarkTopics)
	for _, step := range []struct {
		name string
		edit func() error
		defs map[string][]string
	}{
		{"defined after the posts", func() error {
			_, err := topics.Load(ctx, map[string][]string{"nato": {"nato", "otan"}, "alliance": {"otan", "navo"}}, "test")
			return err
		}, map[string][]string{"nato": {"nato", "otan"}, "alliance": {"otan", "navo"}}},
		{"a tag removed", func() error {
			_, err := topics.Remove(ctx, "nato", "test", "otan")
			return err
		}, map[string][]string{"nato": {"nato"}, "alliance": {"otan", "navo"}}},
		{"a topic deleted", func() error {
			_, err := topics.Delete(ctx, "alliance", "test")
			return err
		}, map[string][]string{"nato": {"nato"}}},
	} {
		if err := step.edit(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		b, err := w.Backlog(ctx)
		if err != nil || len(b.Days) < 3 {
			t.Fatalf("%s: backlog %+v, %v; want every stored day", step.name, b, err)
		}
		st, err := rollup.Load(ctx, conn, end.Add(-72*time.Hour), end)
		if err != nil {
			t.Fatal(err)
		}
		if st.DayDone(rollup.TopicTiers.Day, end.Add(-48*time.Hour)) {
			t.Fatalf("%s: topic_day is trusted before the worker recomputed it", step.name)
		}
		// An edit costs the topic tiers only: the others stay trusted.
		if !st.DayDone(rollup.TagTiers.Day, end.Add(-48*time.Hour)) || !st.HourDone(rollup.PostTiers.Hour, end.Add(-47*time.Hour)) {
			t.Fatalf("%s: a topic edit made tag_day or post_hour untrusted", step.name)
		}
		var progress strings.Builder
		if err := w.CatchUp(ctx, &progress); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(progress.String(), "rollup: topic tiers of days") || strings.Contains(progress.String(), "rollup: days") {
			t.Fatalf("%s: the worker's progress %q, want only the topic tiers redone", step.name, progress.String())
		}
		want, got := wantTopicDays(posts, step.defs, end), topicDays(t, conn)
		if len(want) < 3 {
			t.Fatalf("%s: the history gives %d topic days; the test means nothing", step.name, len(want))
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: topic_day = %v, want %v", step.name, got, want)
		}
	}
}
