package trend

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/trend/trendtest"
)

// TestFloodsAndBots plants, beside the story's burst (#NIF2025, 40 posts
// of 40 accounts in the last hour): a flood of one account (#Flood), a
// flood of one instance's accounts (#Instance), and a burst of bots
// (#BotBurst). The floods are concentrated: flagged, and left out of
// trending unless asked for. The bots' posts count nowhere and are
// reported apart.
func TestFloodsAndBots(t *testing.T) {
	at := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	_, conn := stacktest.MigratedClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	end := time.Unix(newFrame(at, time.Hour).end, 0).UTC()
	ms := trendtest.NewStory(end).Mentions
	flood := trendtest.Hourly("flood", "Flood", end, append([]int{30}, trendtest.Steady(1, 25)...), "mastodon", "en")
	for i := range flood {
		flood[i].Account = "@flooder@one.example"
		if i >= 30 {
			flood[i].Account = fmt.Sprintf("@regular%d@elsewhere.example", i)
		}
	}
	instance := trendtest.Hourly("instance", "Instance", end, append([]int{20}, trendtest.Steady(1, 25)...), "mastodon", "en")
	for i := range instance {
		instance[i].Account = fmt.Sprintf("@user%d@spam.example", i)
		if i >= 20 {
			instance[i].Account = fmt.Sprintf("user%d@host%d.example", i, i)
		}
	}
	bots := trendtest.Hourly("botburst", "BotBurst", end, append([]int{40}, trendtest.Steady(1, 25)...), "bluesky", "en")
	for i := range bots {
		bots[i].Account = fmt.Sprintf("did:plc:bot%d", i)
		bots[i].Bot = i < 40
	}
	trendtest.Insert(t, conn, append(append(append(ms, flood...), instance...), bots...))
	store := NewStore(conn, DefaultParams())

	// Ranked on posts: on accounts, the flood of one account has 1 and
	// trends anyway.
	trending := func(include bool) map[string]Trend {
		t.Helper()
		got, err := store.Trending(ctx, Query{At: at, Window: time.Hour, Limit: 20, By: ByPosts, IncludeConcentrated: include})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]Trend{}
		for _, tr := range got {
			out[tr.Tag] = tr
		}
		return out
	}
	plain := trending(false)
	if tr, ok := plain["nif2025"]; !ok || tr.Concentrated || tr.TopAccountShare != 0.025 {
		t.Errorf("the story's burst: %+v (listed %v), want it trending, 1 post of 40 from its top account", tr, ok)
	}
	for _, tag := range []string{"flood", "instance", "botburst"} {
		if _, ok := plain[tag]; ok {
			t.Errorf("#%s trends by default: %+v", tag, plain[tag])
		}
	}
	all := trending(true)
	if tr := all["flood"]; !tr.Concentrated || tr.TopAccountShare != 1 {
		t.Errorf("#Flood with concentrated tags included: %+v, want concentrated, all posts from one account", tr)
	}
	if tr := all["instance"]; !tr.Concentrated || tr.TopInstanceShare != 1 || tr.TopAccountShare != 0.05 {
		t.Errorf("#Instance with concentrated tags included: %+v, want concentrated, all posts from one instance", tr)
	}
	if _, ok := all["botburst"]; ok {
		t.Errorf("#BotBurst trends: %+v; bots' posts count nowhere", all["botburst"])
	}

	top, err := store.Top(ctx, Query{At: at, Window: time.Hour, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range top {
		if c.Tag == "botburst" {
			t.Errorf("top counts %d posts of #BotBurst, want none (its hour's posts are bots')", c.Count)
		}
	}
	page, err := store.Tag(ctx, TagQuery{Tag: "botburst", At: at, Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if page.Count != 0 || page.BotPosts != 40 || len(page.Posts) != 0 {
		t.Errorf("#BotBurst's page: %d posts, %d of bots, %d listed; want 0, 40, 0", page.Count, page.BotPosts, len(page.Posts))
	}
	page, err = store.Tag(ctx, TagQuery{Tag: "flood", At: at, Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !page.Concentrated || page.TopAccountShare != 1 {
		t.Errorf("#Flood's page: %+v, want concentrated", page.Concentration)
	}
}

// A deployment that follows one instance sees every post from it: its
// tags are not concentrated by instance, and a burst of many accounts
// trends.
func TestOneInstanceIsNotAFlood(t *testing.T) {
	at := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	_, conn := stacktest.MigratedClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	end := time.Unix(newFrame(at, time.Hour).end, 0).UTC()
	var ms []trendtest.Mention
	for _, tag := range []struct {
		name    string
		perHour []int
	}{{"local", append([]int{30}, trendtest.Steady(1, 25)...)}, {"steady", trendtest.Steady(10, 26)}} {
		hist := trendtest.Hourly(tag.name, tag.name, end, tag.perHour, "mastodon", "en")
		for i := range hist {
			hist[i].Account = fmt.Sprintf("user%d@home.example", i)
		}
		ms = append(ms, hist...)
	}
	trendtest.Insert(t, conn, ms)
	got, err := NewStore(conn, DefaultParams()).Trending(ctx, Query{At: at, Window: time.Hour, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0].Tag != "local" || got[0].Concentrated || got[0].TopInstanceShare != 1 {
		t.Errorf("trending = %+v, want #local first, all from one instance, not concentrated", got)
	}
}
