package aggregator

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"tagpulse/internal/deletion"
	"tagpulse/internal/post"
	"tagpulse/internal/rollup"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/trend"
)

// TestDeletions publishes posts and tombstones through Kafka: tombstones
// that carry the post's time, tombstones that do not (found in posts),
// tombstones that come before their posts, and tombstones of posts never
// seen. Every deleted post stops counting, in mentions' reads and in the
// rollups, for posts and for accounts; a replay of everything resurrects
// none; the tag page lists none of them and the posts table keeps no text
// of the ones it held.
func TestDeletions(t *testing.T) {
	s := newStack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := time.Now().Add(-2 * time.Hour)
	posts := stacktest.GenPosts("d", 400, base, 300, 21)
	for i := range posts {
		posts[i].Author = fmt.Sprintf("@author%d", i%50)
	}
	early, late := posts[:350], posts[350:]
	// The posts deleted below have authors of their own, so that counting
	// them would change the accounts too.
	for i := range early[:60] {
		early[i].Author = fmt.Sprintf("@deleted%d", i)
	}
	for i := range late[:20] {
		late[i].Author = fmt.Sprintf("@deleted-late%d", i)
	}
	tomb := func(p post.Message, dated bool) post.Message {
		at := time.Time{}
		if dated {
			at = p.CreatedAt
		}
		return post.Message{Post: post.Tombstone(p.ID, at), Hashtags: []post.Hashtag{}, ExtractorVersion: 1}
	}
	var tombstones []post.Message
	deleted := map[string]bool{}
	for i, p := range early[:60] {
		tombstones = append(tombstones, tomb(p, i%2 == 0)) // half dated, half looked up in posts
		deleted[p.ID] = true
	}
	for _, p := range late[:20] {
		tombstones = append(tombstones, tomb(p, false)) // before their posts
		deleted[p.ID] = true
	}
	tombstones = append(tombstones, tomb(post.Message{Post: post.Post{ID: "never-seen"}}, false))

	publish(t, s.kafka, early)
	publish(t, s.kafka, tombstones)
	cfg := testConfig(s.kafka.Topic + "-group")
	m := runCaughtUp(t, s, cfg)
	publish(t, s.kafka, late)
	runCaughtUp(t, s, cfg)

	if got := testutil.ToFloat64(m.Tombstones); got != float64(len(tombstones)) {
		t.Errorf("tagpulse_aggregate_tombstones_total = %v, want %d", got, len(tombstones))
	}
	var kept []post.Message
	for _, p := range posts {
		if !deleted[p.ID] {
			kept = append(kept, p)
		}
	}
	check := func(t *testing.T, when string) {
		t.Helper()
		// Through mentions and through the rollups (TagTotals compares
		// both, after a catch-up that resolves the pending tombstones).
		assertCounts(t, s.conn, kept)
		store := trend.NewStore(s.conn, trend.DefaultParams())
		top, err := store.Top(ctx, trend.Query{At: time.Now(), Window: 24 * time.Hour, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		want := stacktest.WantTotals(kept)
		authors := map[string]map[string]bool{}
		for _, p := range kept {
			for _, h := range p.Hashtags {
				if authors[h.Tag] == nil {
					authors[h.Tag] = map[string]bool{}
				}
				authors[h.Tag][p.Author] = true
			}
		}
		for _, c := range top {
			if c.Count != want[c.Tag] {
				t.Errorf("%s: top says %d posts of #%s, want %d", when, c.Count, c.Tag, want[c.Tag])
			}
			page, err := store.Tag(ctx, trend.TagQuery{Tag: c.Tag, At: time.Now(), Window: 24 * time.Hour, Posts: trend.MaxTagPosts})
			if err != nil {
				t.Fatal(err)
			}
			// Under 50 accounts a tag, the sketch is exact.
			if page.Count != want[c.Tag] || page.Accounts != uint64(len(authors[c.Tag])) {
				t.Errorf("%s: the page of #%s says %d posts from %d accounts, want %d from %d", when, c.Tag, page.Count, page.Accounts, want[c.Tag], len(authors[c.Tag]))
			}
			for _, p := range page.Posts {
				if deleted[p.ID] {
					t.Errorf("%s: the page of #%s lists deleted post %s (%q)", when, c.Tag, p.ID, p.Excerpt)
				}
			}
		}
	}
	check(t, "after the deletes")

	// The pending tombstones of the late posts were resolved by the
	// catch-up: dated deletions now, which outlive the pending table.
	var dated uint64
	if err := s.conn.QueryRow(ctx, "SELECT uniqExact(post_id) FROM deletions").Scan(&dated); err != nil {
		t.Fatal(err)
	}
	if dated != 80 {
		t.Errorf("%d posts in deletions, want 80 (60 stored first, 20 deleted first)", dated)
	}
	if _, err := deletion.Expire(ctx, s.conn, time.Now().AddDate(0, 0, deletion.PendingDays+1)); err != nil {
		t.Fatal(err)
	}
	var pending uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM deletions_pending").Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Errorf("%d pending tombstones left after their time", pending)
	}
	check(t, "after the pending tombstones expired")

	// The text of a deleted post is gone from posts (its newest row).
	var texts uint64
	if err := s.conn.QueryRow(ctx, `SELECT countIf(excerpt != '' OR author != '') FROM (
    SELECT id, excerpt, author FROM posts ORDER BY inserted_at DESC LIMIT 1 BY id)
WHERE id IN (SELECT post_id FROM deletions)`).Scan(&texts); err != nil {
		t.Fatal(err)
	}
	if texts != 0 {
		t.Errorf("%d deleted posts still have text or author in posts", texts)
	}

	// A replay of the whole topic writes every post again: none of the
	// deleted comes back.
	c := New(Options{Config: testConfig("unused"), Kafka: s.kafka, Store: s.conn, Metrics: NewMetrics(prometheus.NewRegistry()), Log: testLogger(t)})
	if _, err := c.Replay(ctx, ReplayOptions{Since: base.Add(-time.Hour), Until: time.Now().Add(time.Minute)}); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if err := rollup.NewWorker(s.conn, nil, nil).CatchUp(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	check(t, "after a replay")
}

// A post whose author does not allow indexing counts, for posts and for
// accounts, but the posts table keeps neither its text, its link nor its
// author, and mentions holds a pseudonym for the account.
func TestNotIndexablePostsCountWithoutText(t *testing.T) {
	s := newStack(t, 1)
	posts := stacktest.GenPosts("n", 40, time.Now(), 0, 22)
	no := false
	for i := range posts {
		posts[i].Author = fmt.Sprintf("@who%d", i%4)
		if (i/4)%2 == 0 {
			posts[i].Indexable = &no
		}
	}
	publish(t, s.kafka, posts)
	runCaughtUp(t, s, testConfig(s.kafka.Topic+"-group"))
	assertCounts(t, s.conn, posts)

	ctx := context.Background()
	rows, err := s.conn.Query(ctx, `SELECT p.id, p.author, p.url, p.excerpt, m.account
FROM (SELECT id, author, url, excerpt FROM posts ORDER BY inserted_at DESC LIMIT 1 BY id) AS p
ANY INNER JOIN (SELECT post_id AS id, any(account) AS account FROM mentions GROUP BY post_id) AS m USING id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	byID := map[string]post.Message{}
	for _, p := range posts {
		byID[p.ID] = p
	}
	n := 0
	for rows.Next() {
		var id, author, url, excerpt, account string
		if err := rows.Scan(&id, &author, &url, &excerpt, &account); err != nil {
			t.Fatal(err)
		}
		n++
		p := byID[id]
		switch {
		case p.AllowsIndexing() && (author != p.Author || excerpt == "" || account != p.Author):
			t.Errorf("indexable post %s: author %q excerpt %q account %q", id, author, excerpt, account)
		case !p.AllowsIndexing() && (author != "" || url != "" || excerpt != "" || account == p.Author || account == ""):
			t.Errorf("post %s may not be indexed, yet: author %q url %q excerpt %q account %q", id, author, url, excerpt, account)
		}
	}
	if n != len(posts) {
		t.Errorf("%d posts stored, want %d", n, len(posts))
	}
	// Four authors, each posting indexable and not: the pseudonyms count
	// apart from the names, so accounts are 8 over all tags.
	var accounts uint64
	if err := s.conn.QueryRow(ctx, "SELECT uniqExact(account) FROM mentions").Scan(&accounts); err != nil {
		t.Fatal(err)
	}
	if accounts != 8 {
		t.Errorf("%d accounts in mentions, want 8 (4 names, 4 pseudonyms)", accounts)
	}
}
