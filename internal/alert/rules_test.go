package alert

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var testEnv = map[string]string{"TEST_ALERTS_SLACK_URL": "https://hooks.example.com/services/T1/B2/secret"}

func getenv(k string) string { return testEnv[k] }

func TestLoadRulesGood(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Rules
	}{
		{"full.good.yml", Rules{
			BaseURL: "https://trends.example.org",
			Webhooks: []Webhook{
				{Name: "comms-slack", URL: testEnv["TEST_ALERTS_SLACK_URL"], URLEnv: "TEST_ALERTS_SLACK_URL", Format: FormatSlack},
				{Name: "dashboard", URL: "http://127.0.0.1:9999/hook", Format: FormatJSON},
			},
			Rules: []Rule{
				{Name: "watched", Tags: []string{"nato", "otan"}, Window: Duration(time.Hour), Metric: MetricCount,
					Threshold: 50, MinPosts: 10, Cooldown: Duration(2 * time.Hour), MaxTags: DefaultMaxTags,
					Webhooks: []string{"comms-slack", "dashboard"}},
				{Name: "any-spike", AnyTag: true, Window: Duration(15 * time.Minute), Metric: MetricScore,
					Threshold: 8, Cooldown: Duration(DefaultCooldown), MaxTags: 3, Webhooks: []string{"dashboard"}},
			},
		}},
		{"topics.good.yml", Rules{
			Webhooks: []Webhook{{Name: "hook", URL: "https://hooks.example.com/services/T000/B000/XXXX", Format: FormatSlack}},
			Rules: []Rule{
				{Name: "alliance", Topics: []string{"nato"}, Window: Duration(time.Hour), Metric: MetricCount, Threshold: 20,
					Cooldown: Duration(DefaultCooldown), MaxTags: DefaultMaxTags, Webhooks: []string{"hook"}},
				{Name: "any-topic", AnyTopic: true, Window: Duration(24 * time.Hour), Metric: MetricScore, Threshold: 5,
					Cooldown: Duration(DefaultCooldown), MaxTags: DefaultMaxTags, Webhooks: []string{"hook"}},
			},
		}},
		{"minimal.good.yml", Rules{
			Webhooks: []Webhook{{Name: "hook", URL: "https://hooks.example.com/services/T000/B000/XXXX", Format: FormatSlack}},
			Rules: []Rule{{Name: "r", AnyTag: true, Window: Duration(24 * time.Hour), Metric: MetricCount, Threshold: 100,
				Cooldown: Duration(DefaultCooldown), MaxTags: DefaultMaxTags, Webhooks: []string{"hook"}}},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := LoadRules(filepath.Join("testdata", tc.file), getenv)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got\n%+v\nwant\n%+v", *got, tc.want)
			}
		})
	}
}

func TestLoadRulesBad(t *testing.T) {
	for _, tc := range []struct {
		file string
		says string
	}{
		{"empty.bad.yml", "the file is empty"},
		{"syntax.bad.yml", "parsing YAML"},
		{"unknown_field.bad.yml", "field treshold not found"},
		{"no_rules.bad.yml", "no rules"},
		{"no_tags.bad.yml", "set any_tag: true"},
		{"tags_and_any.bad.yml", "not both"},
		{"tags_and_topics.bad.yml", "not both"},
		{"bad_topic.bad.yml", `topic name "NATO Alliance"`},
		{"short_window.bad.yml", "window 30s: want 1m to 90d"},
		{"bad_duration.bad.yml", `duration "soon"`},
		{"bad_metric.bad.yml", `metric "posts": want count or score`},
		{"zero_threshold.bad.yml", "threshold 0: want a number above 0"},
		{"short_cooldown.bad.yml", "cooldown 10s: want at least 1m"},
		{"unknown_webhook.bad.yml", `webhook "pager" is not defined`},
		{"no_webhooks.bad.yml", "webhooks is empty"},
		{"duplicate_rule.bad.yml", `rule "r" is defined twice`},
		{"max_tags.bad.yml", "max_tags 5000: want 1 to 1000"},
		{"bad_url.bad.yml", "not an http or https URL"},
		{"unset_env.bad.yml", "TEST_ALERTS_UNSET_URL (url_env) is empty or unset"},
		{"url_and_env.bad.yml", "give url or url_env, not both"},
		{"bad_format.bad.yml", `format "teams": want slack or json`},
		{"duplicate_webhook.bad.yml", `webhook "hook" is defined twice`},
		{"bad_base_url.bad.yml", "base_url"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := LoadRules(filepath.Join("testdata", tc.file), getenv)
			if err == nil {
				t.Fatal("loaded without error")
			}
			if !errors.Is(err, ErrInvalidRules) {
				t.Errorf("error %v is not ErrInvalidRules", err)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q quotes a webhook URL", err)
			}
		})
	}
}

func TestLoadRulesMissingFile(t *testing.T) {
	_, err := LoadRules(filepath.Join("testdata", "nonexistent.yml"), getenv)
	if err == nil || errors.Is(err, ErrInvalidRules) || !strings.Contains(err.Error(), "reading alert rules") {
		t.Errorf("err = %v, want a read error", err)
	}
}

func TestRedacted(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T1/B2/secret": "https://hooks.slack.com/…",
		"http://user:pw@127.0.0.1:8080/hook?token=x":    "http://127.0.0.1:8080/…",
		"::not a url": "(redacted)",
	} {
		if got := (Webhook{URL: in}).Redacted(); got != want {
			t.Errorf("Redacted(%q) = %q, want %q", in, got, want)
		}
	}
}
