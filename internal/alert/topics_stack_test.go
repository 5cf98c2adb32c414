package alert_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/alert"
	"tagpulse/internal/rollup"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/topic"
	"tagpulse/internal/trend"
	"tagpulse/internal/trend/trendtest"
)

// TestRulesNameTopics checks a count rule on a topic and a score rule on
// any topic against the trendtest story with two topics defined: each
// fires for the union of its topic's tags, and says which tags count.
func TestRulesNameTopics(t *testing.T) {
	t.Parallel()
	_, conn := stacktest.MigratedClickHouse(t)
	ctx := context.Background()
	end := time.Date(2025, 11, 20, 14, 38, 0, 0, time.UTC)
	trendtest.Insert(t, conn, trendtest.NewStory(end).Mentions)
	topics := topic.NewStore(conn, rollup.MarkTopics)
	if _, err := topics.Load(ctx, map[string][]string{"alliance": {"nato", "otan"}, "summit": {"nif2025"}}, "test"); err != nil {
		t.Fatal(err)
	}
	rules, err := alert.ParseRules([]byte(`
webhooks:
  - {name: hook, url: "http://127.0.0.1:1/hook", format: json}
rules:
  - {name: alliance-volume, topics: [alliance], window: 1h, metric: count, threshold: 12, webhooks: [hook]}
  - {name: quiet-alliance, topics: [alliance], window: 1h, metric: count, threshold: 13, webhooks: [hook]}
  - {name: any-topic-rising, any_topic: true, window: 1h, metric: score, threshold: 5, webhooks: [hook]}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := alert.New(alert.Options{Rules: rules, Store: trend.NewStore(conn, trend.DefaultParams())})
	fired, err := ev.Check(ctx, end.Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fired {
		got = append(got, f.Rule+" "+f.Text())
	}
	// In the story's last hour #NATO has 10 posts, #OTAN 2 and the burst
	// #NIF2025 40; the alliance's 12 do not reach 13.
	want := []string{
		"alliance-volume topic alliance: 12 posts from 12 accounts in the last 1h (#nato 10, #otan 2) (rule alliance-volume: count ≥ 12)",
		"any-topic-rising topic summit: 40 posts from 40 accounts in the last 1h (#nif2025 40), 1.0 accounts expected",
	}
	if len(got) != 2 || got[0] != want[0] || !strings.HasPrefix(got[1], want[1]) {
		t.Fatalf("firings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if k := fired[0].Key(); k.Tag != "alliance" || fired[0].Tag != "" {
		t.Errorf("cooldown key %+v of a topic firing, want the topic", k)
	}
}
