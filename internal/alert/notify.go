package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"tagpulse/internal/retry"
	"tagpulse/internal/trend"
)

// Bounds of a delivery.
const (
	// DefaultAttemptTimeout bounds one POST, response included.
	DefaultAttemptTimeout = 10 * time.Second
	// DefaultSendTimeout bounds all the attempts to deliver one alert to
	// one webhook, waits included.
	DefaultSendTimeout = time.Minute
	// maxResponseBytes is as much of a response body as is read (and
	// quoted in errors).
	maxResponseBytes = 4 << 10
)

// Firing is a rule that fires for a tag: what an alert says.
type Firing struct {
	Rule      string
	Metric    Metric
	Threshold float64
	Window    time.Duration
	// At is the time of the evaluation; the window ends with its minute.
	At time.Time
	// Tag is the tag the rule fired for; for a rule of topics, Topic is
	// the topic instead and Members its tags' own posts in the window.
	Tag     string
	Topic   string
	Members []trend.TagCount
	Display string
	// Count is the tag's distinct posts in the window; Accounts its
	// distinct accounts.
	Count    uint64
	Accounts uint64
	// Expected and Score come with score rules (HasScore); count rules
	// read only the counts. By is what they count (trend.ByAccounts or
	// trend.ByPosts).
	HasScore bool
	By       trend.By
	Expected float64
	Score    float64
	// Concentration says whether one account or instance wrote most of
	// the tag's posts in the window (then the alert says so).
	Concentration trend.Concentration
}

// Key is the cooldown key of the firing: the rule and the tag, or the
// topic (a rule watches one or the other, so they cannot clash).
func (f Firing) Key() Key { return Key{Rule: f.Rule, Tag: f.Tag + f.Topic} }

// Payload is the generic JSON body of an alert (format json).
type Payload struct {
	Rule      string           `json:"rule"`
	Tag       string           `json:"tag,omitempty"`
	Topic     string           `json:"topic,omitempty"`
	Members   []trend.TagCount `json:"members,omitempty"`
	Display   string           `json:"display"`
	Window    string           `json:"window"`
	At        time.Time        `json:"at"`
	Metric    Metric           `json:"metric"`
	Threshold float64          `json:"threshold"`
	Count     uint64           `json:"count"`
	Accounts  uint64           `json:"accounts"`
	By        trend.By         `json:"by,omitempty"`
	Expected  *float64         `json:"expected,omitempty"`
	Score     *float64         `json:"score,omitempty"`
	Link      string           `json:"link"`
	trend.Concentration
}

// payload is the generic body of f, linking to the tag page under base.
func (f Firing) payload(base string) Payload {
	p := Payload{
		Rule: f.Rule, Tag: f.Tag, Topic: f.Topic, Members: f.Members, Display: f.Display, Window: trend.FormatDuration(f.Window),
		At: f.At.UTC(), Metric: f.Metric, Threshold: f.Threshold, Count: f.Count, Accounts: f.Accounts,
		Link: f.link(base), Concentration: f.Concentration,
	}
	if f.HasScore {
		p.By, p.Expected, p.Score = f.By, &f.Expected, &f.Score
	}
	return p
}

// Text is the one-line message of f, as the Slack body and `aggregate
// alerts test` say it.
func (f Firing) Text() string {
	name := "#" + f.Display
	if f.Display == "" {
		name = "#" + f.Tag
	}
	if f.Topic != "" {
		name = "topic " + f.Topic
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d posts from %d accounts in the last %s", name, f.Count, f.Accounts, trend.FormatDuration(f.Window))
	if len(f.Members) > 0 {
		parts := make([]string, len(f.Members))
		for i, m := range f.Members {
			parts[i] = fmt.Sprintf("#%s %d", m.Tag, m.Count)
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
	}
	if f.HasScore {
		by := f.By
		if by == "" {
			by = trend.ByAccounts
		}
		fmt.Fprintf(&b, ", %.1f %s expected, trending score %.1f", f.Expected, by, f.Score)
	}
	if c := f.Concentration; c.Concentrated {
		fmt.Fprintf(&b, "; concentrated: %.0f%% of the posts from one account, %.0f%% from one instance", c.TopAccountShare*100, c.TopInstanceShare*100)
	}
	fmt.Fprintf(&b, " (rule %s: %s ≥ %g)", f.Rule, f.Metric, f.Threshold)
	return b.String()
}

// link is where an alert points: the tag's page, or for a topic the
// trends page, whose Topics panel lists it.
func (f Firing) link(base string) string {
	if f.Topic != "" {
		return base + "/"
	}
	return TagLink(base, f.Tag)
}

// TagLink is the address of a tag's page under base: base/tags/{tag}.
func TagLink(base, tag string) string {
	return base + "/tags/" + url.PathEscape(tag)
}

// Body returns the request body of f for a webhook of format.
func Body(f Firing, format Format, base string) ([]byte, error) {
	switch format {
	case FormatSlack:
		text := f.Text()
		if base != "" {
			text += " " + f.link(base)
		}
		return json.Marshal(map[string]string{"text": text})
	case FormatJSON:
		return json.Marshal(f.payload(base))
	}
	return nil, fmt.Errorf("unknown webhook format %q", format)
}

// errPermanent marks a delivery error that no retry cures (a 4xx other
// than 408 and 429).
var errPermanent = errors.New("refused")

// Notifier posts alerts to webhooks, retrying failures with backoff within
// a bounded time.
type Notifier struct {
	// Client makes the requests; its redirects are not followed.
	Client *http.Client
	// Backoff is the wait between attempts.
	Backoff retry.Backoff
	// AttemptTimeout bounds one attempt, SendTimeout all of them.
	AttemptTimeout, SendTimeout time.Duration
	// BaseURL is where tag pages are linked.
	BaseURL string
	// OnRetry, when set, hears every failed attempt that is retried.
	OnRetry func(w Webhook, f retry.Failure)
}

// NewNotifier returns a Notifier with the default bounds.
func NewNotifier(baseURL string) *Notifier {
	return &Notifier{
		Client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		Backoff:        retry.Backoff{Min: time.Second, Max: 15 * time.Second},
		AttemptTimeout: DefaultAttemptTimeout,
		SendTimeout:    DefaultSendTimeout,
		BaseURL:        baseURL,
	}
}

// Send delivers f to w, retrying network errors, 5xx, 408 and 429 until
// SendTimeout. Errors never contain the webhook's URL.
func (n *Notifier) Send(ctx context.Context, w Webhook, f Firing) error {
	body, err := Body(f, w.Format, n.BaseURL)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, n.SendTimeout)
	defer cancel()
	p := retry.Policy{
		Backoff:   n.Backoff,
		Retryable: func(err error) bool { return !errors.Is(err, errPermanent) },
		OnFail: func(fail retry.Failure) {
			if !fail.Last && n.OnRetry != nil {
				n.OnRetry(w, fail)
			}
		},
	}
	if err := p.Do(ctx, func(ctx context.Context) error { return n.post(ctx, w, body) }); err != nil {
		return fmt.Errorf("posting alert of rule %s for %s to webhook %s (%s): %w", f.Rule, f.Key().Tag, w.Name, w.Redacted(), err)
	}
	return nil
}

// post makes one attempt.
func (n *Notifier) post(ctx context.Context, w Webhook, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, n.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: building the request: %s", errPermanent, stripURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tagpulse-alerts")
	resp, err := n.Client.Do(req)
	if err != nil {
		return stripURL(err)
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	// Drain a little more so the connection can be reused, but no more.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg := fmt.Errorf("status %s: %q", resp.Status, strings.TrimSpace(string(head)))
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests {
		return msg
	}
	return fmt.Errorf("%w: %w", errPermanent, msg)
}

// stripURL drops the URL from the errors of net/http, which quote it in
// full: the URL of a webhook is a secret.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
