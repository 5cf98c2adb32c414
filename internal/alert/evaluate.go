package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"tagpulse/internal/retry"
	"tagpulse/internal/trend"
)

// Defaults of the Evaluator.
const (
	// DefaultInterval is how often `aggregate run` evaluates the rules.
	DefaultInterval = time.Minute
	// DefaultSettle is the wait between claiming alerts and reading the
	// claims back: longer than an insert, plus the skew between the
	// replicas' clocks, plus the second that DateTime truncates.
	DefaultSettle = 3 * time.Second
)

// Options configure an Evaluator; Rules and Store are required, and
// State, Notifier and Metrics are required by Evaluate and Run.
type Options struct {
	Rules    *Rules
	Store    *trend.Store
	State    *State
	Notifier *Notifier
	Metrics  *Metrics
	Log      *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Interval is the time between evaluations (DefaultInterval when 0).
	Interval time.Duration
	// Settle is the wait after claiming (DefaultSettle when 0).
	Settle time.Duration
}

// Evaluator checks the rules against the trend counts and sends the alerts
// that fire, at most once per rule, tag and cooldown.
type Evaluator struct {
	o     Options
	hooks map[string]Webhook
}

// New returns an Evaluator with the defaults of o filled in. It sets the
// Notifier's OnRetry to count and log retries.
func New(o Options) *Evaluator {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Settle <= 0 {
		o.Settle = DefaultSettle
	}
	if o.Notifier != nil && o.Metrics != nil {
		m, log := o.Metrics, o.Log
		o.Notifier.OnRetry = func(w Webhook, f retry.Failure) {
			m.SendRetries.WithLabelValues(string(w.Format)).Inc()
			log.Warn("alert webhook failed; retrying", "webhook", w.Name, "url", w.Redacted(), "attempt", f.Attempt, "retry_in", f.Wait.Round(time.Millisecond), "err", f.Err)
		}
	}
	hooks := make(map[string]Webhook, len(o.Rules.Webhooks))
	for _, w := range o.Rules.Webhooks {
		hooks[w.Name] = w
	}
	return &Evaluator{o: o, hooks: hooks}
}

// Check returns the firings of every rule at at, highest first within a
// rule, without looking at cooldowns and without sending: the dry run of
// `aggregate alerts test`.
func (e *Evaluator) Check(ctx context.Context, at time.Time) ([]Firing, error) {
	var out []Firing
	for _, r := range e.o.Rules.Rules {
		fs, err := e.checkRule(ctx, r, at)
		if err != nil {
			return nil, fmt.Errorf("evaluating rule %s: %w", r.Name, err)
		}
		out = append(out, fs...)
	}
	return out, nil
}

func (e *Evaluator) checkRule(ctx context.Context, r Rule, at time.Time) ([]Firing, error) {
	q := trend.Query{At: at, Window: time.Duration(r.Window), Limit: r.MaxTags, Topics: r.watchesTopics()}
	watched := r.Tags
	if r.watchesTopics() {
		watched = r.Topics
	}
	if !r.AnyTag && !r.AnyTopic {
		// Watched tags (topics) are looked for among the top of the window.
		q.Limit = trend.MaxLimit
	}
	var cands []Firing
	switch r.Metric {
	case MetricCount:
		top, err := e.o.Store.Top(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, c := range top {
			cands = append(cands, Firing{Tag: c.Tag, Topic: c.Topic, Members: c.Members, Display: c.Display, Count: c.Count, Accounts: c.Accounts})
		}
	case MetricScore:
		trends, err := e.o.Store.Trending(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, t := range trends {
			cands = append(cands, Firing{Tag: t.Tag, Topic: t.Topic, Members: t.Members, Display: t.Display, Count: t.Count, Accounts: t.Accounts,
				HasScore: true, By: t.By, Expected: t.Expected, Score: t.Score, Concentration: t.Concentration})
		}
	}
	var out []Firing
	for _, f := range cands {
		value := float64(f.Count)
		if r.Metric == MetricScore {
			value = f.Score
		}
		if value < r.Threshold || f.Count < r.MinPosts || (!r.AnyTag && !r.AnyTopic && !slices.Contains(watched, f.Tag+f.Topic)) {
			continue
		}
		f.Rule, f.Metric, f.Threshold, f.Window, f.At = r.Name, r.Metric, r.Threshold, time.Duration(r.Window), at
		out = append(out, f)
		if len(out) == r.MaxTags {
			break
		}
	}
	if r.Metric == MetricCount && len(out) > 0 && !r.watchesTopics() {
		// Trending leaves concentrated tags out; a count rule fires for
		// them, and says so. (Concentration is a tag's: topics have none.)
		tags := make([]string, len(out))
		for i, f := range out {
			tags[i] = f.Tag
		}
		cs, err := e.o.Store.Concentrations(ctx, q, tags)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i].Concentration = cs[out[i].Tag]
		}
	}
	return out, nil
}

// Report is what one evaluation did.
type Report struct {
	// Fired are the firings found; Cooldown and Claimed count those not
	// sent because of the cooldown or another replica's claim.
	Fired             []Firing
	Cooldown, Claimed int
	// Sent counts alerts at least one webhook accepted; Failed those none
	// did (they are tried again at a later evaluation).
	Sent, Failed int
}

// Evaluate checks the rules at at and sends what fires, outside its
// cooldown, once across replicas (the protocol of State).
func (e *Evaluator) Evaluate(ctx context.Context, at time.Time) (Report, error) {
	var rep Report
	fired, err := e.Check(ctx, at)
	if err != nil {
		return rep, err
	}
	rep.Fired = fired
	e.o.Metrics.Fired.Add(float64(len(fired)))
	rules := make(map[string]Rule, len(e.o.Rules.Rules))
	for _, r := range e.o.Rules.Rules {
		rules[r.Name] = r
	}

	// Steps 1 and 2: drop what is in its cooldown, claim the rest.
	type pending struct {
		f     Firing
		since time.Time
	}
	var todo []pending
	for _, f := range fired {
		cooldown := time.Duration(rules[f.Rule].Cooldown)
		last, ok, err := e.o.State.LastSent(ctx, f.Key())
		if err != nil {
			return rep, err
		}
		if ok && at.Before(last.Add(cooldown)) {
			rep.Cooldown++
			e.o.Metrics.Suppressed.WithLabelValues(reasonCooldown).Inc()
			continue
		}
		// A claim older than the horizon belongs to a round whose
		// sender gave up or died; one before the end of the last
		// cooldown to a round that was sent.
		since := at.Add(-e.horizon())
		if ok && last.Add(cooldown).After(since) {
			since = last.Add(cooldown)
		}
		todo = append(todo, pending{f: f, since: since})
	}
	if len(todo) == 0 {
		return rep, nil
	}
	keys := make([]Key, len(todo))
	for i, p := range todo {
		keys[i] = p.f.Key()
	}
	if err := e.o.State.Claim(ctx, keys, at); err != nil {
		return rep, err
	}

	// Step 3: once every claim stamped up to ours is visible, the
	// earliest one sends.
	if err := retry.Sleep(ctx, e.o.Settle); err != nil {
		return rep, err
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, p := range todo {
		won, err := e.o.State.Winner(ctx, p.f.Key(), p.since)
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			continue
		}
		if !won {
			rep.Claimed++
			e.o.Metrics.Suppressed.WithLabelValues(reasonClaimed).Inc()
			continue
		}
		wg.Add(1)
		go func(f Firing) {
			defer wg.Done()
			sent, err := e.send(ctx, rules[f.Rule], f)
			mu.Lock()
			defer mu.Unlock()
			if sent {
				rep.Sent++
			} else {
				rep.Failed++
			}
			if err != nil {
				errs = append(errs, err)
			}
		}(p.f)
	}
	wg.Wait()
	return rep, errors.Join(errs...)
}

// horizon is how long a claim stays in force: the settle delay, then the
// time the winner may take to deliver, with a margin.
func (e *Evaluator) horizon() time.Duration {
	return e.o.Settle + e.o.Notifier.SendTimeout + time.Minute
}

// send delivers f to every webhook of r and, when at least one accepted
// it, records it as sent (step 4). A webhook that failed is not tried
// again for this alert: retrying the alert would repeat it to the others.
func (e *Evaluator) send(ctx context.Context, r Rule, f Firing) (bool, error) {
	var errs []error
	delivered := 0
	for _, name := range r.Webhooks {
		w := e.hooks[name]
		if err := e.o.Notifier.Send(ctx, w, f); err != nil {
			e.o.Metrics.SendFailures.WithLabelValues(string(w.Format)).Inc()
			errs = append(errs, err)
			continue
		}
		delivered++
		e.o.Metrics.Sent.WithLabelValues(string(w.Format)).Inc()
		e.o.Log.Info("alert sent", "rule", f.Rule, "tag", f.Tag, "topic", f.Topic, "count", f.Count, "webhook", w.Name, "url", w.Redacted())
	}
	if delivered == 0 {
		return false, errors.Join(errs...)
	}
	if err := e.o.State.MarkSent(ctx, f.Key(), f.At); err != nil {
		errs = append(errs, err)
	}
	return true, errors.Join(errs...)
}

// Run evaluates the rules every Interval until ctx ends, and returns nil
// then. A failed evaluation is logged and counted; the next one tries
// again, so a ClickHouse away for a while delays alerts but stops nothing.
func (e *Evaluator) Run(ctx context.Context) error {
	e.o.Log.Info("evaluating alert rules", "rules", len(e.o.Rules.Rules), "every", e.o.Interval)
	tick := time.NewTicker(e.o.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		rep, err := e.Evaluate(ctx, e.o.Now())
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			e.o.Metrics.Evaluations.WithLabelValues("error").Inc()
			e.o.Log.Error("evaluating alert rules", "err", err)
		} else {
			e.o.Metrics.Evaluations.WithLabelValues("ok").Inc()
		}
		if len(rep.Fired) > 0 {
			e.o.Log.Debug("alert rules evaluated", "fired", len(rep.Fired), "cooldown", rep.Cooldown, "claimed", rep.Claimed, "sent", rep.Sent, "failed", rep.Failed)
		}
	}
}
