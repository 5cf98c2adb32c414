package alert_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/alert"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/trend/trendtest"
)

// A flood of one account fires a count rule, and the alert says it is
// concentrated; a score rule does not fire for it (trending leaves it
// out), while a burst of many accounts fires both, unflagged.
func TestAlertsFlagConcentratedTags(t *testing.T) {
	_, conn := stacktest.MigratedClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	at := time.Now().UTC().Truncate(time.Minute).Add(30 * time.Second)
	end := at.Truncate(time.Minute).Add(time.Minute)
	flood := trendtest.Hourly("flood", "Flood", end, append([]int{30}, trendtest.Steady(1, 25)...), "mastodon", "en")
	for i := range flood {
		flood[i].Account = "@flooder@one.example"
		if i >= 30 {
			flood[i].Account = fmt.Sprintf("@someone%d@two.example", i)
		}
	}
	burst := trendtest.Hourly("burst", "Burst", end, append([]int{30}, trendtest.Steady(1, 25)...), "mastodon", "en")
	for i := range burst {
		burst[i].Account = fmt.Sprintf("@user%d@host%d.example", i, i)
	}
	trendtest.Insert(t, conn, append(flood, burst...))

	rules, err := alert.ParseRules([]byte(`webhooks:
  - {name: chat, url: "http://127.0.0.1:9/unused", format: slack}
rules:
  - {name: volume, any_tag: true, window: 1h, metric: count, threshold: 20, max_tags: 5, webhooks: [chat]}
  - {name: spikes, any_tag: true, window: 1h, metric: score, threshold: 2, max_tags: 5, webhooks: [chat]}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	fired, err := newEvaluator(rules, conn).Check(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]alert.Firing{}
	for _, f := range fired {
		got[f.Rule+" "+f.Tag] = f
	}
	if f, ok := got["volume flood"]; !ok || !f.Concentration.Concentrated || f.Concentration.TopAccountShare != 1 || !strings.Contains(f.Text(), "concentrated") {
		t.Errorf("count rule on the flood: %+v (fired %v), want it fired and flagged concentrated", f, ok)
	}
	if _, ok := got["spikes flood"]; ok {
		t.Error("the score rule fired for a concentrated tag")
	}
	for _, key := range []string{"volume burst", "spikes burst"} {
		if f, ok := got[key]; !ok || f.Concentration.Concentrated {
			t.Errorf("%s: %+v (fired %v), want fired, not concentrated", key, f, ok)
		}
	}
}
