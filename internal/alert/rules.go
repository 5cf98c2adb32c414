package alert

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"tagpulse/internal/topic"
	"tagpulse/internal/trend"
)

// Metric is what a rule compares with its threshold.
type Metric string

// The metrics a rule can watch.
const (
	// MetricCount is the number of distinct posts with the tag in the
	// window (the count of `aggregate top`).
	MetricCount Metric = "count"
	// MetricScore is the trending score of the tag in the window (the
	// score of `aggregate trending`, docs/trends.md).
	MetricScore Metric = "score"
)

// Format is the body shape a webhook receives.
type Format string

// The body shapes of a webhook.
const (
	// FormatSlack is a Slack-compatible body: {"text": "…"}.
	FormatSlack Format = "slack"
	// FormatJSON is the generic body of Payload.
	FormatJSON Format = "json"
)

// Defaults of a rule's optional fields.
const (
	DefaultCooldown = time.Hour
	DefaultMaxTags  = 10
)

// ErrInvalidRules matches every error about the content of a rules file
// (errors.Is), as opposed to one reading it.
var ErrInvalidRules = errors.New("invalid alert rules")

// Rules is a parsed and checked rules file.
type Rules struct {
	// BaseURL is where the tag pages are served; the link of an alert is
	// BaseURL + "/tags/" + tag. Empty leaves the link a bare path.
	BaseURL string `yaml:"base_url"`
	// Webhooks are the receivers, by name.
	Webhooks []Webhook `yaml:"webhooks"`
	// Rules are the watchlists.
	Rules []Rule `yaml:"rules"`
}

// Webhook is one receiver of alerts. Its URL is given in the file (URL) or
// in an environment variable (URLEnv); either way it is a secret (a Slack
// incoming-webhook URL carries its token in the path) and is never logged.
type Webhook struct {
	Name   string `yaml:"name"`
	URL    string `yaml:"url"`
	URLEnv string `yaml:"url_env"`
	Format Format `yaml:"format"`
}

// Redacted is the form of the webhook's URL that may be logged: its
// scheme and host only.
func (w Webhook) Redacted() string { return redactURL(w.URL) }

// watchesTopics reports whether the rule watches topics rather than tags.
func (r Rule) watchesTopics() bool { return r.AnyTopic || len(r.Topics) > 0 }

// Rule is one watchlist. A rule fires for a tag (or a topic) when, over the Window
// ending now, the tag's Metric is at least Threshold and it has at least
// MinPosts posts. (A minimum of distinct accounts will join MinPosts once
// posts carry their author, with schema v2.)
type Rule struct {
	// Name identifies the rule in alerts, logs and the cooldown state;
	// renaming a rule resets its cooldowns.
	Name string `yaml:"name"`
	// Tags are the watched tags (a leading # is dropped, case folded);
	// AnyTag watches every tag instead; Topics watches topics (each the
	// distinct posts of any of its tags, docs/trends.md, Topics), and
	// AnyTopic every topic. Exactly one of the four is set.
	Tags     []string `yaml:"tags"`
	AnyTag   bool     `yaml:"any_tag"`
	Topics   []string `yaml:"topics"`
	AnyTopic bool     `yaml:"any_topic"`
	// Window is how far back the counts reach (1m to 90d).
	Window Duration `yaml:"window"`
	// Metric and Threshold: the rule fires when the metric is at least
	// the threshold.
	Metric    Metric  `yaml:"metric"`
	Threshold float64 `yaml:"threshold"`
	// MinPosts is the fewest distinct posts a tag needs in the window.
	MinPosts uint64 `yaml:"min_posts"`
	// Cooldown is the least time between two alerts of this rule for one
	// tag (default 1h).
	Cooldown Duration `yaml:"cooldown"`
	// MaxTags bounds how many tags one evaluation of the rule may fire
	// for, highest first (default 10, at most trend.MaxLimit).
	MaxTags int `yaml:"max_tags"`
	// Webhooks name the receivers of the rule's alerts.
	Webhooks []string `yaml:"webhooks"`
}

// Duration is a time.Duration written as trend.ParseDuration reads it:
// 15m, 1h, 7d.
type Duration time.Duration

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: want a duration such as 15m, 1h or 7d", n.Line)
	}
	v, err := trend.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// LoadRules reads and checks the rules file at path; URLs given by
// url_env are read with getenv (os.Getenv when nil).
func LoadRules(path string, getenv func(string) string) (*Rules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading alert rules: %w", err)
	}
	r, err := ParseRules(b, getenv)
	if err != nil {
		return nil, fmt.Errorf("alert rules %s: %w", path, err)
	}
	return r, nil
}

// ParseRules parses and checks a rules file; unknown fields are errors, so
// a misspelt field cannot be silently ignored.
func ParseRules(b []byte, getenv func(string) string) (*Rules, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var r Rules
	if err := dec.Decode(&r); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, invalid("the file is empty")
		}
		return nil, fmt.Errorf("%w: parsing YAML: %w", ErrInvalidRules, err)
	}
	if err := r.check(getenv); err != nil {
		return nil, err
	}
	return &r, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRules, fmt.Sprintf(format, args...))
}

// check validates the file, sets the defaults and resolves url_env.
func (r *Rules) check(getenv func(string) string) error {
	if r.BaseURL != "" {
		u, err := url.Parse(r.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("base_url %q: want an http or https URL", r.BaseURL)
		}
		r.BaseURL = strings.TrimRight(r.BaseURL, "/")
	}
	hooks := map[string]bool{}
	for i := range r.Webhooks {
		w := &r.Webhooks[i]
		if err := w.check(getenv); err != nil {
			return invalid("webhook %d (%q): %s", i+1, w.Name, err)
		}
		if hooks[w.Name] {
			return invalid("webhook %q is defined twice", w.Name)
		}
		hooks[w.Name] = true
	}
	if len(r.Rules) == 0 {
		return invalid("no rules")
	}
	names := map[string]bool{}
	for i := range r.Rules {
		rule := &r.Rules[i]
		if err := rule.check(hooks); err != nil {
			return invalid("rule %d (%q): %s", i+1, rule.Name, err)
		}
		if names[rule.Name] {
			return invalid("rule %q is defined twice", rule.Name)
		}
		names[rule.Name] = true
	}
	return nil
}

func (w *Webhook) check(getenv func(string) string) error {
	if w.Name == "" {
		return errors.New("name is missing")
	}
	switch {
	case w.URL != "" && w.URLEnv != "":
		return errors.New("give url or url_env, not both")
	case w.URLEnv != "":
		w.URL = getenv(w.URLEnv)
		if w.URL == "" {
			return fmt.Errorf("environment variable %s (url_env) is empty or unset", w.URLEnv)
		}
	case w.URL == "":
		return errors.New("url or url_env is missing")
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL is a secret: the error names only what is wrong.
		return errors.New("the URL is not an http or https URL")
	}
	switch w.Format {
	case FormatSlack, FormatJSON:
	case "":
		return fmt.Errorf("format is missing: want %s or %s", FormatSlack, FormatJSON)
	default:
		return fmt.Errorf("format %q: want %s or %s", w.Format, FormatSlack, FormatJSON)
	}
	return nil
}

func (r *Rule) check(hooks map[string]bool) error {
	if r.Name == "" {
		return errors.New("name is missing")
	}
	set := 0
	for _, given := range []bool{len(r.Tags) > 0, r.AnyTag, len(r.Topics) > 0, r.AnyTopic} {
		if given {
			set++
		}
	}
	switch {
	case set > 1:
		return errors.New("give one of tags, any_tag: true, topics and any_topic: true, not both")
	case set == 0:
		return errors.New("tags is empty: list the watched tags, or set any_tag: true (or topics, any_topic: true)")
	case len(r.Tags) > 0:
		tags, err := trend.NormaliseTags(r.Tags)
		if err != nil {
			return fmt.Errorf("tags: %w", err)
		}
		r.Tags = tags
	case len(r.Topics) > 0:
		for _, name := range r.Topics {
			if err := topic.CheckName(name); err != nil {
				return fmt.Errorf("topics: %w", err)
			}
		}
	}
	if w := time.Duration(r.Window); w < trend.MinWindow || w > trend.MaxWindow {
		return fmt.Errorf("window %s: want %s to %s", trend.FormatDuration(w), trend.FormatDuration(trend.MinWindow), trend.FormatDuration(trend.MaxWindow))
	}
	switch r.Metric {
	case MetricCount, MetricScore:
	default:
		return fmt.Errorf("metric %q: want %s or %s", r.Metric, MetricCount, MetricScore)
	}
	if r.Threshold <= 0 {
		return fmt.Errorf("threshold %g: want a number above 0", r.Threshold)
	}
	if r.Cooldown == 0 {
		r.Cooldown = Duration(DefaultCooldown)
	}
	if c := time.Duration(r.Cooldown); c < time.Minute {
		return fmt.Errorf("cooldown %s: want at least 1m", c)
	}
	if r.MaxTags == 0 {
		r.MaxTags = DefaultMaxTags
	}
	if r.MaxTags < 1 || r.MaxTags > trend.MaxLimit {
		return fmt.Errorf("max_tags %d: want 1 to %d", r.MaxTags, trend.MaxLimit)
	}
	if len(r.Webhooks) == 0 {
		return errors.New("webhooks is empty: name at least one receiver")
	}
	for _, h := range r.Webhooks {
		if !hooks[h] {
			return fmt.Errorf("webhook %q is not defined under webhooks", h)
		}
	}
	return nil
}

// redactURL keeps the scheme and host of a URL, which may be logged, and
// drops the path, query and user information, which may hold a token.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "(redacted)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}
