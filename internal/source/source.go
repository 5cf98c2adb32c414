// Package source reads posts from where comms teams find them: files (JSONL
// archives and plain-text posts), RSS and Atom feeds, Mastodon-compatible
// timelines, and an authenticated webhook. Each pulled source gives every
// post a stable id (see docs/design.md: source plus native id, or a content hash) and
// keeps a cursor in a state directory, so a restart does not emit the same
// posts as new again. What happens to the posts next (validation, hashtags,
// Kafka) is package ingest's job.
package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tagpulse/internal/post"
)

// Kinds of sources, as --source KIND=LOCATION names them.
const (
	KindFile     = "file"
	KindRSS      = "rss"
	KindMastodon = "mastodon"
	KindWebhook  = "webhook"
	// KindBluesky is a Jetstream endpoint of Bluesky (a websocket).
	KindBluesky = "bluesky"
	// KindMastodonStream is a Mastodon timeline read through its streaming
	// API (server-sent events).
	KindMastodonStream = "mastodon-stream"
)

// Streaming reports whether sources of kind hold a connection open and
// pace their polls themselves (one window of events each), so the caller
// should poll them again at once.
func Streaming(kind string) bool { return kind == KindBluesky || kind == KindMastodonStream }

// Item is one post as a source read it, or the reason it could not be read.
type Item struct {
	Post post.Post
	// Err is set when the item could not be turned into a post; it wraps one
	// of post's reason errors (post.ErrMissingField, …).
	Err error
	// File and Line, when set, locate the item for a person (a file
	// source's path and, for JSONL, the 1-based line), so that a rejection
	// can be reported where it happened.
	File string
	Line int
	// Duplicate marks a post the source's cursor had seen already.
	Duplicate bool
	// ValidUTF8 says every field of Post is known to be valid UTF-8: the
	// source decoded it with post.DecodePost, which checks its whole input
	// and never produces invalid UTF-8, or checked it itself. The runner
	// checks the posts of the other items.
	ValidUTF8 bool
}

// Emit receives a source's items in order. An error stops the poll.
type Emit func(Item) error

// Result is what a successful poll leaves to do.
type Result struct {
	// Commit records every emitted item as seen. Call it only once every
	// emitted post is safely published; nil when there is nothing to record.
	Commit func() error
	// Wait, when positive, asks the caller not to poll again before this
	// long (a rate limit that is used up); never more than MaxRetryAfter.
	Wait time.Duration
}

// Source is something posts can be pulled from.
type Source interface {
	// Name labels the source in metrics and logs ("rss", "rss-2"); it is bounded
	// and never a URL.
	Name() string
	// Poll reads what is new since the last committed poll.
	Poll(ctx context.Context, emit Emit) (Result, error)
}

// Options are what every pulled source needs besides its location.
type Options struct {
	// Name labels the source; the kind when empty.
	Name string
	// State keeps the cursor; nil means no cursor (every post is new).
	State *StateStore
	// Once says the source is polled once and its cursor thrown away
	// (ingest file): files are then not hashed for a mark nobody reads.
	Once bool
	// Client fetches feeds and timelines; NewHTTPClient's when nil.
	Client *http.Client
	// MaxBodyBytes bounds one HTTP response; 10 MiB when 0.
	MaxBodyBytes int64
	// MaxTextBytes bounds the text of a plain-text file; post.MaxTextBytes
	// when 0.
	MaxTextBytes int
	// Now gives the time of ingestion; time.Now when nil.
	Now func() time.Time
	// AllowHosts, when not empty, limits feed and timeline URLs to these
	// hosts (see HostAllowed); give the same list to NewHTTPClient so
	// redirects are held to it too.
	AllowHosts []string
	// Window is how long one poll of a stream (bluesky, mastodon-stream)
	// gathers posts; DefaultStreamWindow when 0.
	Window time.Duration
	// MaxMessageBytes bounds one message of a stream (a websocket message,
	// a server-sent event); post.MaxMessageBytes when 0.
	MaxMessageBytes int64
	// Metrics counts the events streams skip; private ones when nil.
	Metrics *Metrics
	// Log receives what a stream has to say (a cursor older than the
	// server keeps); nothing when nil.
	Log *slog.Logger
}

// DefaultMaxBodyBytes bounds an HTTP response body.
const DefaultMaxBodyBytes = 10 << 20

func (o *Options) defaults(kind string) {
	if o.Name == "" {
		o.Name = kind
	}
	if o.Client == nil {
		o.Client = NewHTTPClient(30*time.Second, o.AllowHosts...)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxTextBytes <= 0 {
		o.MaxTextBytes = post.MaxTextBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Window <= 0 {
		o.Window = DefaultStreamWindow
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = post.MaxMessageBytes
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	// Every source's series are exported from the start, at zero.
	o.Metrics.init(o.Name)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Spec is a parsed --source KIND[@INTERVAL]=LOCATION.
type Spec struct {
	Kind     string
	Location string
	// Interval overrides the default poll interval when positive; for a
	// stream it is the window of one poll (Options.Window).
	Interval time.Duration
}

// ParseSpec parses KIND[@INTERVAL]=LOCATION ("rss@5m=https://example.org/feed.xml").
func ParseSpec(s string) (Spec, error) {
	head, loc, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(loc) == "" {
		return Spec{}, fmt.Errorf("source %q: want KIND=LOCATION", s)
	}
	kind, every, hasEvery := strings.Cut(head, "@")
	spec := Spec{Kind: strings.ToLower(strings.TrimSpace(kind)), Location: strings.TrimSpace(loc)}
	if hasEvery {
		d, err := time.ParseDuration(every)
		if err != nil || d <= 0 {
			return Spec{}, fmt.Errorf("source %q: interval %q is not a positive duration", s, every)
		}
		spec.Interval = d
	}
	switch spec.Kind {
	case KindFile:
	case KindRSS, KindMastodon, KindMastodonStream:
		if err := checkURL(spec.Location, nil); err != nil {
			return Spec{}, fmt.Errorf("source %q: %w", s, err)
		}
	case KindBluesky:
		if _, err := checkStreamURL(spec.Location, nil); err != nil {
			return Spec{}, fmt.Errorf("source %q: %w", s, err)
		}
	default:
		return Spec{}, fmt.Errorf("source %q: unknown kind %q (want file, rss, mastodon, mastodon-stream or bluesky)", s, spec.Kind)
	}
	return spec, nil
}

// New builds the source a spec names.
func New(spec Spec, opt Options) (Source, error) {
	switch spec.Kind {
	case KindFile:
		return NewFile([]string{spec.Location}, opt)
	case KindRSS:
		return NewFeed(spec.Location, opt)
	case KindMastodon:
		return NewMastodon(spec.Location, opt)
	case KindMastodonStream, KindBluesky:
		if spec.Interval > 0 {
			opt.Window = spec.Interval
		}
		if spec.Kind == KindBluesky {
			return NewBluesky(spec.Location, opt)
		}
		return NewMastodonStream(spec.Location, opt)
	}
	return nil, fmt.Errorf("unknown source kind %q", spec.Kind)
}

// checkURL accepts absolute http and https URLs only, so a feed setting
// cannot make ingest read local files or speak other protocols; with an
// allowlist, only URLs of its hosts (see HostAllowed).
func checkURL(raw string, allowHosts []string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("parsing URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("URL scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("URL has no host")
	}
	if !HostAllowed(u.Hostname(), allowHosts) {
		return fmt.Errorf("URL host %q is not in the allowed hosts (--source-allow-hosts): %w", u.Hostname(), ErrHostNotAllowed)
	}
	return nil
}

// ErrHostNotAllowed is returned for a source URL, or a redirect, to a host
// outside the allowlist.
var ErrHostNotAllowed = errors.New("host not allowed")

// HostAllowed reports whether host may be fetched: every host when allow
// is empty, else a host equal to an entry (case-insensitive) or, for an
// entry written ".example.org" or "*.example.org", any host under it.
func HostAllowed(host string, allow []string) bool {
	if len(allow) == 0 {
		return true
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, a := range allow {
		a = strings.ToLower(strings.TrimSpace(a))
		if suffix, ok := strings.CutPrefix(a, "*"); ok {
			a = suffix
		}
		switch {
		case a == "" || a == ".":
		case strings.HasPrefix(a, "."):
			if strings.HasSuffix(host, a) {
				return true
			}
		case host == a:
			return true
		}
	}
	return false
}
