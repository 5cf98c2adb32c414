package alert_test

import (
	"fmt"
	"time"

	"tagpulse/internal/alert"
)

// A rules file with one webhook and one watchlist; the webhook URL comes
// from the environment (here a stand-in for os.Getenv).
func ExampleParseRules() {
	file := []byte(`
webhooks:
  - {name: slack, url_env: ALERTS_SLACK_URL, format: slack}
rules:
  - name: our-tags
    tags: ["#NATO", otan]
    window: 1h
    metric: count
    threshold: 50
    webhooks: [slack]
`)
	env := map[string]string{"ALERTS_SLACK_URL": "https://hooks.slack.com/services/T0/B0/secret"}
	rules, err := alert.ParseRules(file, func(k string) string { return env[k] })
	if err != nil {
		fmt.Println(err)
		return
	}
	r := rules.Rules[0]
	fmt.Println(r.Name, r.Tags, time.Duration(r.Window), time.Duration(r.Cooldown), rules.Webhooks[0].Redacted())
	// Output: our-tags [nato otan] 1h0m0s 1h0m0s https://hooks.slack.com/…
}

// The Slack body of an alert, linking to the tag's page.
func ExampleBody() {
	f := alert.Firing{Rule: "our-tags", Metric: alert.MetricCount, Threshold: 50, Window: time.Hour, Tag: "nato", Display: "NATO", Count: 64, Accounts: 41}
	b, _ := alert.Body(f, alert.FormatSlack, "https://trends.example.org")
	fmt.Println(string(b))
	// Output: {"text":"#NATO: 64 posts from 41 accounts in the last 1h (rule our-tags: count ≥ 50) https://trends.example.org/tags/nato"}
}
