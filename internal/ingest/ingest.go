// Package ingest is the heart of cmd/ingest: it polls sources, validates
// their posts, extracts hashtags and publishes each post to Kafka, counting
// everything it does in the metrics of docs/metrics.md. A source's cursor is
// committed only after all the posts of its poll are acknowledged by Kafka,
// so a crash never loses a post; at worst it publishes one again under the
// same id, which aggregate deduplicates.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"tagpulse/internal/hashtag"
	"tagpulse/internal/post"
	"tagpulse/internal/retry"
	"tagpulse/internal/source"
)

// Publisher sends messages to Kafka and reports how many were acknowledged
// (publish.Publisher).
type Publisher interface {
	Publish(ctx context.Context, msgs []post.Message) (int, error)
}

// Extractor finds the distinct hashtags of a post, in order of first
// appearance, and names its version.
type Extractor struct {
	Version int
	// AppendDistinct appends the distinct hashtags of a post's text and of
	// the tags its producer knew (known) to dst and returns the extended
	// slice, with the count of tags it left out (see AppendHashtags): a
	// publish call gathers the tags of all its posts in one array.
	AppendDistinct func(dst []post.Hashtag, text string, known []string) ([]post.Hashtag, hashtag.Dropped)
}

// Config tunes the runner.
type Config struct {
	// MaxTextBytes bounds a post's text.
	MaxTextBytes int
	// MaxFutureSkew is how far past the clock a post's created_at may lie;
	// a later post, or one before post.MinCreatedAt, is rejected
	// (invalid_value) whatever its source.
	MaxFutureSkew time.Duration
	// BatchSize is how many posts go to Kafka in one publish call.
	BatchSize int
	// PublishInFlight bounds the publish calls of one poll (or one webhook
	// request) that may wait for Kafka at the same time; the source is
	// read on meanwhile.
	PublishInFlight int
	// PublishTimeout bounds one publish call. Publishing is not cut short
	// by shutdown: what a source handed over is flushed before exit.
	PublishTimeout time.Duration
	// Interval is the default time between two polls of a source.
	Interval time.Duration
	// BackoffMin and BackoffMax bound the wait after a failed poll; it
	// doubles with each failure in a row, with jitter.
	BackoffMin, BackoffMax time.Duration
	// MemoryLimit is the Go runtime's soft memory limit for the process,
	// set by the commands that publish (command.ApplyMemoryLimit); 0
	// leaves the runtime's own (GOMEMLIMIT, or none). The posts in flight
	// are the bulk of the heap: --publish-in-flight calls of up to 5,000
	// posts for `ingest file`, ~45 MB of live heap on typical posts.
	MemoryLimit int64
	// Exclusions are the accounts and instances whose posts are not
	// published (LoadExclusions); nil excludes nothing.
	Exclusions *Exclusions
}

// DefaultConfig returns the defaults the flags start from.
func DefaultConfig() Config {
	return Config{
		MaxTextBytes:    post.MaxTextBytes,
		MaxFutureSkew:   post.DefaultMaxFutureSkew,
		BatchSize:       500,
		PublishInFlight: 4,
		PublishTimeout:  2 * time.Minute,
		Interval:        time.Minute,
		BackoffMin:      5 * time.Second,
		BackoffMax:      10 * time.Minute,
		MemoryLimit:     128 << 20,
	}
}

// Validate checks the settings.
func (c *Config) Validate() error {
	switch {
	case c.MaxTextBytes < 1:
		return fmt.Errorf("ingest: --max-text-bytes must be positive, got %d", c.MaxTextBytes)
	case c.MaxFutureSkew < 0 || c.MaxFutureSkew > post.MaxFutureSkewLimit:
		return fmt.Errorf("ingest: --max-future-skew must be between 0 and %s (what the aggregator accepts), got %s", post.MaxFutureSkewLimit, c.MaxFutureSkew)
	case c.BatchSize < 1:
		return fmt.Errorf("ingest: batch size must be positive, got %d", c.BatchSize)
	case c.PublishInFlight < 1:
		return fmt.Errorf("ingest: --publish-in-flight must be at least 1, got %d", c.PublishInFlight)
	case c.PublishTimeout <= 0:
		return fmt.Errorf("ingest: publish timeout must be positive, got %s", c.PublishTimeout)
	case c.Interval <= 0:
		return fmt.Errorf("ingest: --poll-interval must be positive, got %s", c.Interval)
	case c.MemoryLimit != 0 && c.MemoryLimit < 32<<20:
		return fmt.Errorf("ingest: --memory-limit must be 0 or at least 32 MiB, got %d", c.MemoryLimit)
	case c.BackoffMin <= 0 || c.BackoffMax < c.BackoffMin:
		return fmt.Errorf("ingest: backoff must satisfy 0 < min <= max, got %s and %s", c.BackoffMin, c.BackoffMax)
	}
	return nil
}

// Reasons a valid post is not published, as Stats.Skipped and
// tagpulse_ingest_posts_skipped_total label them.
const (
	// SkipNotPublic: the post's visibility is not public (unlisted,
	// private, direct): trends count public posts only.
	SkipNotPublic = "not_public"
	// SkipExcluded: the post's account or instance is excluded by the
	// operator (Config.Exclusions).
	SkipExcluded = "excluded"
)

// SkipReasons lists every reason a post is skipped.
var SkipReasons = []string{SkipNotPublic, SkipExcluded}

// Stats counts what one poll (or a whole run) did.
type Stats struct {
	Read int
	// Published counts the messages Kafka acknowledged: posts and
	// tombstones.
	Published int
	// Tombstones counts the tombstones among them (of publish calls that
	// were acknowledged whole).
	Tombstones int
	Duplicates int
	Failed     int
	Hashtags   int
	Rejected   map[string]int
	// Skipped counts the valid posts that were not published, by reason
	// (SkipReasons).
	Skipped map[string]int
	// Rejections holds the first MaxRejections rejected items in full,
	// for a person to find them (`ingest file` prints them).
	Rejections []Rejection
}

// MaxRejections bounds the rejections a Stats keeps in full; the rest are
// only counted.
const MaxRejections = 20

// Rejection is one rejected item: where it was, when its source says
// (source.Item's File and Line), and why.
type Rejection struct {
	File string
	Line int
	Err  error
}

// String gives the rejection as "file:line: reason", or the reason alone
// when the source gave no place.
func (r Rejection) String() string {
	msg := r.Err.Error()
	if r.File == "" {
		return msg
	}
	loc := r.File
	if r.Line > 0 {
		loc = fmt.Sprintf("%s:%d", r.File, r.Line)
	}
	if strings.HasPrefix(msg, loc+":") {
		return msg // the error names the place already
	}
	return loc + ": " + msg
}

// RejectedTotal sums the rejections over all reasons.
func (s Stats) RejectedTotal() int {
	n := 0
	for _, v := range s.Rejected {
		n += v
	}
	return n
}

// Add adds o to s.
func (s *Stats) Add(o Stats) {
	s.Read += o.Read
	s.Published += o.Published
	s.Tombstones += o.Tombstones
	s.Duplicates += o.Duplicates
	s.Failed += o.Failed
	s.Hashtags += o.Hashtags
	for _, rj := range o.Rejections {
		s.reject(rj)
	}
	for k, v := range o.Rejected {
		if s.Rejected == nil {
			s.Rejected = map[string]int{}
		}
		s.Rejected[k] += v
	}
	for k, v := range o.Skipped {
		if s.Skipped == nil {
			s.Skipped = map[string]int{}
		}
		s.Skipped[k] += v
	}
}

// SkippedTotal sums the skipped posts over all reasons.
func (s Stats) SkippedTotal() int {
	n := 0
	for _, v := range s.Skipped {
		n += v
	}
	return n
}

// reject keeps rj unless MaxRejections are kept already.
func (s *Stats) reject(rj Rejection) {
	if len(s.Rejections) < MaxRejections {
		s.Rejections = append(s.Rejections, rj)
	}
}

// Runner validates, extracts and publishes what sources emit.
type Runner struct {
	cfg     Config
	pub     Publisher
	extract Extractor
	m       *metrics
	log     *slog.Logger
	now     func() time.Time
}

// New returns a runner. It registers its metrics on reg.
func New(cfg Config, pub Publisher, ex Extractor, reg prometheus.Registerer, log *slog.Logger) *Runner {
	return &Runner{cfg: cfg, pub: pub, extract: ex, m: newMetrics(reg), log: log, now: time.Now}
}

// Register exports the metrics of a source at zero before its first poll;
// pulled says whether it is polled (fetch metrics) or pushed (the webhook).
func (r *Runner) Register(name string, pulled bool) { r.m.init(name, pulled) }

// batch collects the messages of one source and publishes them in the
// background, in calls of up to cfg.BatchSize messages, at most
// cfg.PublishInFlight calls at a time, so that reading and decoding the
// next posts overlap extracting, encoding and compressing the previous ones
// and Kafka's round trips. Publishing does
// not take the poll's context: a shutdown stops fetching, not the
// publishing of what was fetched.
type batch struct {
	r     *Runner
	name  string
	ctx   context.Context
	msgs  []post.Message // being filled
	stats Stats          // Read, Duplicates, Rejected: the caller's goroutine only

	slots chan struct{}       // one token per publish call in flight
	spare chan []post.Message // emptied arrays of finished calls, for reuse
	wg    sync.WaitGroup

	mu   sync.Mutex
	sent Stats // Published, Failed, Hashtags of finished calls
	err  error // the first publish error
}

func (r *Runner) newBatch(ctx context.Context, name string) *batch {
	inFlight := max(r.cfg.PublishInFlight, 1)
	return &batch{
		r: r, name: name, ctx: context.WithoutCancel(ctx),
		stats: Stats{Rejected: map[string]int{}, Skipped: map[string]int{}},
		slots: make(chan struct{}, inFlight),
		spare: make(chan []post.Message, inFlight),
	}
}

// add counts an item and queues its message; it reports whether the item
// was a post or a tombstone to publish and, for a valid post that is not
// published, why (SkipReasons).
func (b *batch) add(it source.Item) (queued bool, skip string) {
	r := b.r
	b.stats.Read++
	r.m.fetched.WithLabelValues(b.name).Inc()
	if it.Duplicate {
		b.stats.Duplicates++
		r.m.duplicate.WithLabelValues(b.name).Inc()
		return false, ""
	}
	err := it.Err
	if err == nil {
		err = r.check(&it.Post, it.ValidUTF8)
	}
	if err != nil {
		reason := post.Reason(err)
		b.stats.Rejected[reason]++
		b.stats.reject(Rejection{File: it.File, Line: it.Line, Err: err})
		r.m.rejected.WithLabelValues(b.name, reason).Inc()
		r.log.Debug("post rejected", "source", b.name, "reason", reason, "file", it.File, "line", it.Line, "err", err)
		return false, ""
	}
	switch {
	case it.Post.Deleted:
		// A tombstone is always published: it only ever removes a post.
	case !it.Post.IsPublic():
		skip = SkipNotPublic
	case r.cfg.Exclusions.Excludes(&it.Post):
		skip = SkipExcluded
	}
	if skip != "" {
		b.stats.Skipped[skip]++
		r.m.skipped.WithLabelValues(b.name, skip).Inc()
		r.log.Debug("post skipped", "source", b.name, "reason", skip, "id", it.Post.ID)
		return false, skip
	}
	// Only public posts are published: the message need not say so.
	it.Post.Visibility = ""
	// The hashtags are extracted by the publishing goroutine, off the
	// source's.
	b.msgs = append(b.msgs, post.Message{Post: it.Post, ExtractorVersion: r.extract.Version, ProducerTags: post.ProducerTags(it.Post.Tags)})
	return true, ""
}

// failed returns the first publish error of the calls finished so far.
func (b *batch) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// send starts publishing the queued messages in the background and empties
// the queue; it waits while cfg.PublishInFlight calls are in flight. Once
// a call has failed it publishes nothing more and returns that error, so a
// poll stops reading.
func (b *batch) send() error {
	if err := b.failed(); err != nil || len(b.msgs) == 0 {
		return err
	}
	msgs := b.msgs
	b.msgs = nil
	select {
	case b.msgs = <-b.spare:
	default:
	}
	b.start(msgs)
	return nil
}

// start publishes msgs in the background once a slot is free.
func (b *batch) start(msgs []post.Message) {
	b.slots <- struct{}{}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.publish(msgs)
		<-b.slots
		select {
		case b.spare <- msgs[:0]:
		default:
		}
	}()
}

// publish extracts the hashtags of one call's messages, sends them and
// counts the outcome.
func (b *batch) publish(msgs []post.Message) {
	r := b.r
	all := make([]post.Hashtag, 0, 4*len(msgs))
	var dropped hashtag.Dropped
	tombstones := 0
	for i := range msgs {
		start := len(all)
		if msgs[i].Deleted {
			// A tombstone has no tags: "hashtags":[].
			msgs[i].Hashtags = all[start:start:start]
			tombstones++
			continue
		}
		var d hashtag.Dropped
		all, d = r.extract.AppendDistinct(all, msgs[i].Text, msgs[i].Tags)
		// Never nil: a post without tags has "hashtags":[].
		msgs[i].Hashtags = all[start:len(all):len(all)]
		if d.Total() > 0 {
			dropped.TooLong += d.TooLong
			dropped.TooMany += d.TooMany
			r.log.Debug("hashtags dropped", "source", b.name, "id", msgs[i].ID,
				"too_long", d.TooLong, "too_many", d.TooMany, "max_tag_bytes", hashtag.MaxTagBytes, "max_tags", hashtag.MaxTagsPerPost)
		}
	}
	r.m.tagsDropped.WithLabelValues(b.name, dropTooLong).Add(float64(dropped.TooLong))
	r.m.tagsDropped.WithLabelValues(b.name, dropTooMany).Add(float64(dropped.TooMany))
	ctx, cancel := context.WithTimeout(b.ctx, r.cfg.PublishTimeout)
	defer cancel()
	n, err := r.pub.Publish(ctx, msgs)
	tags := 0
	// Publish reports a count, not which ones: the hashtags and tombstones
	// metrics count those of a fully acknowledged call only.
	if err == nil {
		for i := range msgs {
			tags += len(msgs[i].Hashtags)
		}
	} else {
		tombstones = 0
	}
	r.m.published.WithLabelValues(b.name).Add(float64(n))
	r.m.hashtags.WithLabelValues(b.name).Add(float64(tags))
	r.m.tombstones.WithLabelValues(b.name).Add(float64(tombstones))
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent.Published += n
	b.sent.Tombstones += tombstones
	b.sent.Failed += len(msgs) - n
	b.sent.Hashtags += tags
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("publishing posts of %s: %w", b.name, err)
	}
}

// wait waits for every call in flight and returns the first error; the
// batch's stats are then complete.
func (b *batch) wait() error {
	b.wg.Wait()
	b.stats.Add(b.sent)
	b.sent = Stats{}
	return b.err
}

// flush publishes what is queued and waits for every call in flight.
func (b *batch) flush() error {
	b.send()
	return b.wait()
}

// check validates a post a source built (Config.CheckPost).
func (r *Runner) check(p *post.Post, validUTF8 bool) error {
	return r.cfg.CheckPost(p, r.now(), validUTF8)
}

// CheckPost is the one validation of a post that every way in shares
// (files, feeds, timelines, the webhook, and `ingest extract`): it fills
// in a missing created_at with now, holds a given one to the accepted
// range (post.CheckCreatedAt with c.MaxFutureSkew), and checks the fields
// and their bounds (post.Post.Validate with c.MaxTextBytes). The UTF-8 of
// every field is checked unless the caller has (validUTF8): posts decoded
// with post.DecodePost were, and checking multilingual text again was 8%
// of the CPU of `ingest file`.
//
// A tombstone (p.Deleted) is made the tombstone of its id as the message
// carries it: its id, its created_at when given (a missing one stays
// zero: the post's own time is not known) and its source; its text,
// hashtags and the rest are not read, and dropped.
func (c Config) CheckPost(p *post.Post, now time.Time, validUTF8 bool) error {
	if p.Deleted {
		t := post.Tombstone(p.ID, p.CreatedAt)
		t.Source = p.Source
		*p = t
	}
	if !validUTF8 {
		for _, f := range [...]struct{ name, v string }{{"id", p.ID}, {"text", p.Text}, {"author", p.Author}, {"url", p.URL}, {"lang", p.Lang}, {"source", p.Source}} {
			if !utf8.ValidString(f.v) {
				return fmt.Errorf("field %s: %w", f.name, post.ErrInvalidUTF8)
			}
		}
	}
	switch {
	case p.CreatedAt.IsZero() && p.Deleted:
		return p.Validate(c.MaxTextBytes)
	case p.CreatedAt.IsZero():
		p.CreatedAt = now.UTC().Truncate(time.Second)
	}
	if err := post.CheckCreatedAt(p.CreatedAt, now, c.MaxFutureSkew); err != nil {
		return err
	}
	return p.Validate(c.MaxTextBytes)
}

// Poll polls src once and publishes what it emits, keeping up to
// cfg.PublishInFlight publish calls in flight while it reads on; the cursor
// is committed only when every post of the poll is acknowledged, and not at
// all when any publish call failed. It records the fetch metrics.
func (r *Runner) Poll(ctx context.Context, src source.Source) (source.Result, Stats, error) {
	name := src.Name()
	b := r.newBatch(ctx, name)
	start := r.now()
	var inEmit time.Duration
	res, err := src.Poll(ctx, func(it source.Item) error {
		if queued, _ := b.add(it); !queued || len(b.msgs) < r.cfg.BatchSize {
			return nil
		}
		t := r.now()
		defer func() { inEmit += r.now().Sub(t) }()
		return b.send()
	})
	// Time spent waiting for the publisher is its metric, not the fetch's.
	r.m.fetchDuration.WithLabelValues(name).Observe(max(r.now().Sub(start)-inEmit, 0).Seconds())
	// What the source handed over is published even when it then failed
	// or the poll was cancelled (shutdown), but never committed then.
	if ferr := b.flush(); err == nil {
		err = ferr
	}
	if err == nil && res.Commit != nil {
		err = res.Commit()
	}
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			r.m.fetchErrors.WithLabelValues(name, source.FetchReason(err)).Inc()
			r.m.up.WithLabelValues(name).Set(0)
		}
		return res, b.stats, err
	}
	r.m.up.WithLabelValues(name).Set(1)
	r.m.lastSuccess.WithLabelValues(name).Set(float64(r.now().UnixMilli()) / 1000)
	return res, b.stats, nil
}

// Deliver publishes pushed items all or none (the webhook): when one is
// invalid, nothing is published and the error wraps its reason. It returns
// once Kafka has acknowledged every post, in calls of cfg.BatchSize, up to
// cfg.PublishInFlight at a time, or with the first error. The valid posts
// that are not published (not public, excluded) are returned with their
// reason.
func (r *Runner) Deliver(ctx context.Context, name string, items []source.Item) ([]source.Skipped, error) {
	b := r.newBatch(ctx, name)
	var (
		firstErr error
		skipped  []source.Skipped
	)
	for _, it := range items {
		queued, skip := b.add(it)
		switch {
		case skip != "":
			skipped = append(skipped, source.Skipped{ID: it.Post.ID, Reason: skip})
		case !queued && firstErr == nil && !it.Duplicate:
			firstErr = it.Err
			if firstErr == nil {
				if err := r.check(&it.Post, it.ValidUTF8); err != nil {
					firstErr = fmt.Errorf("post %q: %w", it.Post.ID, err)
				}
			}
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	msgs := b.msgs
	b.msgs = nil
	for start := 0; start < len(msgs) && b.failed() == nil; start += r.cfg.BatchSize {
		end := min(start+r.cfg.BatchSize, len(msgs))
		b.start(msgs[start:end:end])
	}
	return skipped, b.wait()
}

// Scheduled is a source with its poll interval (0: the default).
type Scheduled struct {
	Source   source.Source
	Interval time.Duration
}

// Run polls every source on its own schedule until ctx ends. A failing
// source backs off exponentially, with jitter, and never holds up the
// others. With once, each source is polled a single time and Run returns
// the totals and the sources' errors.
func (r *Runner) Run(ctx context.Context, sources []Scheduled, once bool) (Stats, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total = Stats{Rejected: map[string]int{}, Skipped: map[string]int{}}
		errs  []error
	)
	for _, s := range sources {
		r.Register(s.Source.Name(), true)
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := r.loop(ctx, s, once)
			mu.Lock()
			defer mu.Unlock()
			total.Add(st)
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	return total, errors.Join(errs...)
}

func (r *Runner) loop(ctx context.Context, s Scheduled, once bool) (Stats, error) {
	name := s.Source.Name()
	interval := s.Interval
	if interval <= 0 {
		interval = r.cfg.Interval
	}
	var total Stats
	failures := 0
	for {
		res, st, err := r.Poll(ctx, s.Source)
		total.Add(st)
		if ctx.Err() != nil {
			return total, nil
		}
		wait := interval
		if err != nil {
			failures++
			wait = max(retry.Backoff{Min: r.cfg.BackoffMin, Max: r.cfg.BackoffMax}.Delay(failures), source.RetryAfter(err))
			r.log.Warn("poll failed", "source", name, "reason", source.FetchReason(err), "err", err, "retry_in", wait.Round(time.Millisecond))
		} else {
			failures = 0
			wait = max(wait, res.Wait)
			if res.Wait > 0 {
				r.log.Info("source asked to wait", "source", name, "wait", res.Wait, "capped", res.Wait >= source.MaxRetryAfter)
			}
			r.log.Info("polled", "source", name, "read", st.Read, "published", st.Published, "tombstones", st.Tombstones,
				"duplicates", st.Duplicates, "rejected", st.RejectedTotal(), "skipped", st.SkippedTotal())
		}
		if once {
			if err != nil {
				return total, fmt.Errorf("source %s: %w", name, err)
			}
			return total, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return total, nil
		case <-t.C:
		}
	}
}
