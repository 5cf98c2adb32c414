// Package trendtest generates hashtag histories and writes them into the
// mentions table of a test database (marking their hours for the rollup,
// as the aggregator does), for the integration tests of the trend queries,
// the API, the page and the CLI.
package trendtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chstore"
)

// Mention is one post × hashtag row.
type Mention struct {
	PostID  string
	Account string // empty: the post counts as its own account
	Tag     string
	Display string
	At      time.Time
	Source  string
	Lang    string
	Bot     bool // the source marks the account as a bot
}

// Insert writes the mentions in one batch, the way the aggregator does
// (chstore.InsertMentions), and a row of the posts table for each of their
// posts, with a link and an excerpt naming the post's tags.
func Insert(t testing.TB, conn driver.Conn, ms []Mention) {
	t.Helper()
	InsertWithoutPosts(t, conn, ms)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	now := time.Now().UTC()
	var posts chstore.Posts
	index := map[string]int{}
	for _, m := range ms {
		i, ok := index[m.PostID]
		if !ok {
			i = posts.Len()
			index[m.PostID] = i
			posts.Append(chstore.Post{ID: m.PostID, CreatedAt: m.At.UTC(), Source: m.Source, Lang: m.Lang, Author: m.Account,
				URL: "https://posts.example/" + m.PostID, Excerpt: "Post " + m.PostID + ":", InsertedAt: now})
		}
		posts.Excerpt[i] += " #" + m.Display
	}
	if err := posts.Insert(ctx, conn, chstore.Durability{}); err != nil {
		t.Fatalf("inserting %d posts: %v", posts.Len(), err)
	}
}

// Hourly generates the posts of one tag: perHour[h] posts in the hour that
// ends h hours before end (perHour[0] is the last hour), spread evenly
// over the hour from its first second, so the minutes at the edges of
// windows hold posts, each with its own post id.
func Hourly(tag, display string, end time.Time, perHour []int, source, lang string) []Mention {
	var out []Mention
	for h, n := range perHour {
		hourEnd := end.Add(-time.Duration(h) * time.Hour)
		for p := 0; p < n; p++ {
			at := hourEnd.Add(-time.Hour + time.Duration(p)*time.Hour/time.Duration(n))
			out = append(out, Mention{
				PostID:  fmt.Sprintf("%s-%s-%d-%d", source, tag, h, p),
				Tag:     tag,
				Display: display,
				At:      at,
				Source:  source,
				Lang:    lang,
			})
		}
	}
	return out
}

// Steady returns hours of the same rate.
func Steady(rate, hours int) []int {
	out := make([]int, hours)
	for i := range out {
		out[i] = rate
	}
	return out
}

// Story is the history most tests use, for the hour that ends at End: a
// steady giant (#NATO, 10 posts an hour in English from "rss" for 26
// hours), a burst (#NIF2025, 1 an hour in French from "file" for 25 hours,
// then 40 in the last hour, a few of them spelled nif2025) and a quiet tag
// (#OTAN, 2 an hour for 26 hours, from "file" in French). 26 hours, so the
// 24 baseline windows of a 1h window, which end at the hour before it
// (docs/trends.md), are covered in full.
type Story struct {
	End      time.Time
	Mentions []Mention
}

// NewStory builds the story for the hour ending at end (use the end of a
// minute).
func NewStory(end time.Time) Story {
	var ms []Mention
	ms = append(ms, Hourly("nato", "NATO", end, Steady(10, 26), "rss", "en")...)
	burst := Hourly("nif2025", "NIF2025", end, append([]int{40}, Steady(1, 25)...), "file", "fr")
	for i := range burst[:3] {
		burst[i].Display = "nif2025"
	}
	ms = append(ms, burst...)
	ms = append(ms, Hourly("otan", "OTAN", end, Steady(2, 26), "file", "fr")...)
	return Story{End: end, Mentions: ms}
}

// Since returns the mentions at or after from: the story as a fresh
// import of its last part would hold it, with no history before.
func Since(ms []Mention, from time.Time) []Mention {
	var out []Mention
	for _, m := range ms {
		if !m.At.Before(from) {
			out = append(out, m)
		}
	}
	return out
}

// InsertWithoutPosts writes the mentions as Insert does, and no row of the
// posts table: posts as counted before the table existed.
func InsertWithoutPosts(t testing.TB, conn driver.Conn, ms []Mention) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	now := time.Now().UTC()
	rows := make([]chstore.Mention, len(ms))
	for i, m := range ms {
		rows[i] = chstore.Mention{
			PostID: m.PostID, Account: m.Account, Tag: m.Tag, Display: m.Display, CreatedAt: m.At.UTC(), Source: m.Source, Lang: m.Lang,
			ExtractorVersion: 1, KafkaOffset: int64(i), InsertedAt: now, Bot: m.Bot,
		}
	}
	if err := chstore.InsertMentions(ctx, conn, rows); err != nil {
		t.Fatalf("inserting %d mentions: %v", len(ms), err)
	}
}
