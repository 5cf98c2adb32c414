package trend

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"testing"
	"time"

	"tagpulse/internal/chstore"
	"tagpulse/internal/rollup"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/trend/trendtest"
)

// tagStory is a tag page's history: #OTAN steady at 2 posts an hour for
// 47 hours, then 30 in the last hour. Every other post also carries #NATO,
// every third #Drones, every fifth #spam (hidden by the test); accounts
// repeat (an account per 3 posts). Most posts have a row in posts; every
// seventh has none, as posts counted before the table existed.
type tagStory struct {
	end      time.Time
	mentions []trendtest.Mention
	posts    []chstore.Post
}

func newTagStory(end time.Time) tagStory {
	var s tagStory
	s.end = end
	perHour := append([]int{30}, trendtest.Steady(2, 47)...)
	n := 0
	for h, count := range perHour {
		hourEnd := end.Add(-time.Duration(h) * time.Hour)
		for p := range count {
			at := hourEnd.Add(-time.Hour + time.Duration(p)*time.Hour/time.Duration(count))
			id := fmt.Sprintf("masto:%d", n)
			account := fmt.Sprintf("@user%d", n/3)
			lang := []string{"fr", "en"}[n%2]
			tags := []string{"otan"}
			if n%2 == 0 {
				tags = append(tags, "nato")
			}
			if n%3 == 0 {
				tags = append(tags, "drones")
			}
			if n%5 == 0 {
				tags = append(tags, "spam")
			}
			for _, tag := range tags {
				display := map[string]string{"otan": "OTAN", "nato": "NATO", "drones": "Drones", "spam": "spam"}[tag]
				s.mentions = append(s.mentions, trendtest.Mention{PostID: id, Account: account, Tag: tag, Display: display, At: at, Source: "mastodon", Lang: lang})
			}
			if n%7 != 0 {
				s.posts = append(s.posts, chstore.Post{ID: id, CreatedAt: at, Source: "mastodon", Lang: lang, Author: account,
					URL: "https://social.example/" + id, Excerpt: "post " + id + " #OTAN", InsertedAt: time.Now().UTC()})
			}
			n++
		}
	}
	return s
}

// want returns what the page of tag over [from, to) under lang shows, in
// Go: its posts and accounts, its latest n posts (newest first) and the
// tags used with it.
func (s tagStory) want(tag, lang string, from, to time.Time, n int) (count, accounts int, latest []string, co map[string]int) {
	type post struct {
		id string
		at time.Time
	}
	byPost := map[string][]string{}
	var posts []post
	accs := map[string]bool{}
	for _, m := range s.mentions {
		if m.At.Before(from) || !m.At.Before(to) || (lang != "" && m.Lang != lang) {
			continue
		}
		byPost[m.PostID] = append(byPost[m.PostID], m.Tag)
		if m.Tag == tag {
			posts = append(posts, post{m.PostID, m.At})
			accs[m.Account] = true
		}
	}
	sort.Slice(posts, func(i, j int) bool {
		if !posts[i].at.Equal(posts[j].at) {
			return posts[i].at.After(posts[j].at)
		}
		return posts[i].id > posts[j].id
	})
	co = map[string]int{}
	for _, p := range posts {
		if len(latest) < n {
			latest = append(latest, p.id)
		}
		for _, t := range byPost[p.id] {
			if t != tag {
				co[t]++
			}
		}
	}
	return len(posts), len(accs), latest, co
}

func TestTagPage(t *testing.T) {
	at := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	_, conn := stacktest.MigratedClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	story := newTagStory(time.Unix(newFrame(at, time.Hour).end, 0).UTC())
	// The posts rows are the story's own: some posts have none.
	trendtest.InsertWithoutPosts(t, conn, story.mentions)
	// Copies, as a replay writes them, change nothing.
	trendtest.InsertWithoutPosts(t, conn, story.mentions[:40])
	var posts chstore.Posts
	for _, p := range story.posts {
		posts.Append(p)
	}
	for _, p := range story.posts[len(story.posts)-10:] {
		p.Excerpt, p.InsertedAt = "an older copy", p.InsertedAt.Add(-time.Hour)
		posts.Append(p)
	}
	if err := posts.Insert(ctx, conn, chstore.Durability{}); err != nil {
		t.Fatal(err)
	}
	store := NewStore(conn, DefaultParams())
	if _, err := store.Hide(ctx, "spam", "test", "tester", time.Now()); err != nil {
		t.Fatal(err)
	}
	stored := map[string]chstore.Post{}
	for _, p := range story.posts {
		stored[p.ID] = p
	}

	check := func(t *testing.T, q TagQuery) TagPage {
		t.Helper()
		page, err := store.Tag(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		from, to := Span(q.At, q.Window)
		n := q.Posts
		if n == 0 {
			n = DefaultTagPosts
		}
		count, accounts, latest, co := story.want("otan", q.Lang, from, to, n)
		pcount, paccounts, _, _ := story.want("otan", q.Lang, from.Add(-q.Window), from, 0)
		if page.Tag != "otan" || page.Display != "OTAN" || page.Hidden {
			t.Errorf("tag %q display %q hidden %v, want otan OTAN false", page.Tag, page.Display, page.Hidden)
		}
		if page.Count != uint64(count) || page.Accounts != uint64(accounts) {
			t.Errorf("count %d accounts %d, want %d %d", page.Count, page.Accounts, count, accounts)
		}
		if page.Previous.Count != uint64(pcount) || page.Previous.Accounts != uint64(paccounts) || !page.Previous.To.Equal(from) {
			t.Errorf("previous %+v, want %d posts, %d accounts, ending %s", page.Previous, pcount, paccounts, from)
		}
		span, step := ChartSpan(q.Window), ChartStep(q.Window)
		if len(page.Points) != int(span/step) || page.Step != FormatDuration(step) {
			t.Errorf("%d points of %s, want %d of %s", len(page.Points), page.Step, span/step, step)
		}
		var ids []string
		for i, p := range page.Posts {
			ids = append(ids, p.ID)
			want, ok := stored[p.ID]
			switch {
			case !ok && (p.URL != "" || p.Excerpt != ""):
				t.Errorf("post %d %s has no stored row, yet url %q excerpt %q", i, p.ID, p.URL, p.Excerpt)
			case ok && (p.URL != want.URL || p.Excerpt != want.Excerpt):
				t.Errorf("post %d %s: url %q excerpt %q, want %q %q", i, p.ID, p.URL, p.Excerpt, want.URL, want.Excerpt)
			}
			if p.Author == "" || p.Source != "mastodon" || (q.Lang != "" && p.Lang != q.Lang) {
				t.Errorf("post %d: %+v", i, p)
			}
		}
		if !slices.Equal(ids, latest) {
			t.Errorf("latest posts %v, want %v", ids, latest)
		}
		if page.CoSample != uint64(min(count, CoTagSample)) {
			t.Errorf("co-occurrence sample %d, want %d", page.CoSample, min(count, CoTagSample))
		}
		got := map[string]int{}
		for _, c := range page.CoTags {
			got[c.Tag] = int(c.Count)
		}
		delete(co, "spam") // hidden
		if fmt.Sprint(got) != fmt.Sprint(co) {
			t.Errorf("co-occurring %v, want %v", got, co)
		}
		return page
	}

	t.Run("last hour", func(t *testing.T) {
		page := check(t, TagQuery{Tag: "#OTAN", At: at, Window: time.Hour})
		if page.RisingSince == nil || !page.RisingSince.Equal(page.From.Truncate(time.Hour)) {
			t.Errorf("rising since %v, want the hour of the burst, %s", page.RisingSince, page.From.Truncate(time.Hour))
		}
		if page.CoTags[0].Tag != "nato" || page.CoTags[0].Display != "NATO" {
			t.Errorf("first co-occurring tag %+v, want nato (every other post)", page.CoTags[0])
		}
	})
	t.Run("a day, in French, with the rollup done", func(t *testing.T) {
		if err := rollup.NewWorker(conn, nil, nil).CatchUp(ctx, io.Discard); err != nil {
			t.Fatal(err)
		}
		page := check(t, TagQuery{Tag: "otan", At: at, Window: 24 * time.Hour, Posts: 100, Filter: Filter{Lang: "fr"}})
		if len(page.Posts) != int(page.Count) || page.Count < 30 {
			t.Errorf("%d posts listed of %d, want all of them", len(page.Posts), page.Count)
		}
	})
	t.Run("a week, in day steps", func(t *testing.T) {
		check(t, TagQuery{Tag: "Otan", At: at, Window: 7 * 24 * time.Hour})
	})
	t.Run("a quiet hour before the story", func(t *testing.T) {
		page := check(t, TagQuery{Tag: "otan", At: at.Add(-72 * time.Hour), Window: time.Hour})
		if page.Count != 0 || len(page.Posts) != 0 || len(page.CoTags) != 0 || page.RisingSince != nil {
			t.Errorf("quiet hour: %+v", page)
		}
	})
	t.Run("hidden tag keeps its page", func(t *testing.T) {
		page, err := store.Tag(ctx, TagQuery{Tag: "spam", At: at, Window: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		count, _, _, _ := story.want("spam", "", page.From, page.To, 0)
		if !page.Hidden || page.Count != uint64(count) || len(page.Posts) == 0 {
			t.Errorf("hidden tag's page: hidden %v, %d posts (want %d), %d listed", page.Hidden, page.Count, count, len(page.Posts))
		}
	})
	t.Run("bad queries", func(t *testing.T) {
		for _, q := range []TagQuery{
			{Tag: "", At: at, Window: time.Hour},
			{Tag: "otan", At: at, Window: time.Hour, Posts: MaxTagPosts + 1},
			{Tag: "otan", At: at, Window: 0},
		} {
			if _, err := store.Tag(ctx, q); err == nil {
				t.Errorf("%+v: no error", q)
			}
		}
	})
}
