package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"tagpulse/internal/post"
)

// Jetstream's event kinds and the collections read.
const (
	jetstreamPosts = "app.bsky.feed.post"
	// jetstreamProfiles is the collection of the accounts' profiles,
	// read for the bot self-label only.
	jetstreamProfiles = "app.bsky.actor.profile"
	// profileRKey is the record key of an account's profile: it has one.
	profileRKey       = "self"
	jetstreamTagFacet = "app.bsky.richtext.facet#tag"
	// botLabel is the self-label by which an account (on its profile) or
	// a post says it is automated: the post's bot flag is set.
	botLabel = "bot"
	// noUnauthenticated is the self-label by which an author asks that
	// what they write not be shown to people who are not logged in: a
	// post carrying it is counted, but its text and author are not
	// stored or shown.
	noUnauthenticated = "!no-unauthenticated"
	// blueskyRewind is how far before the saved cursor a reconnection
	// starts: Jetstream instances number events by their own clock, so a
	// few seconds of replay make up for another instance's order. What is
	// replayed is published again under the same ids, which the cursor's
	// recent ids (and aggregate) count once.
	blueskyRewind = 5 * time.Second
	// jetstreamRetention is about how far back Jetstream replays; an
	// older cursor starts at its oldest event.
	jetstreamRetention = 24 * time.Hour
)

// blueskyCursor is a Jetstream position: the time_us of the last event
// handled.
type blueskyCursor struct {
	TimeUS int64    `json:"time_us,omitempty"`
	Recent []string `json:"recent_ids,omitempty"`
}

func (c blueskyCursor) recentIDs() []string { return c.Recent }
func (c blueskyCursor) withRecentIDs(ids []string) blueskyCursor {
	c.Recent = ids
	return c
}

// Bluesky reads posts from a Jetstream endpoint
// (wss://jetstream2.us-east.bsky.network/subscribe): a websocket of JSON
// events, asked for app.bsky.feed.post and app.bsky.actor.profile. A
// post is marked a bot's when its record, or the last profile of its
// author seen while streaming, self-labels it "bot"; profiles publish
// nothing. Its URL may also carry Jetstream's wantedDids, and tagpulse's
// own filters lang and tag (repeatable or comma-separated; not sent to the
// server): a post is kept when one of its languages starts with a wanted
// one, and when one of its tags (canonical keys) is wanted. A delete
// commit of a post is published as its tombstone, whatever the filters
// (the record is gone: they cannot be applied, and deleting a post never
// published is harmless).
type Bluesky struct {
	stream[blueskyCursor]
	url    *url.URL
	client *http.Client
	langs  []string
	tags   map[string]bool
	// idle is how long the connection may be silent before a ping
	// (streamIdle; shorter in tests).
	idle time.Duration
	// accounts are the accounts whose profile self-labels them bot or
	// !no-unauthenticated, as far as the stream has shown (at most
	// maxBlueskyAccounts).
	accounts *blueskyAccounts
}

// NewBluesky returns the Jetstream endpoint at rawURL (ws, wss, http or
// https).
func NewBluesky(rawURL string, opt Options) (*Bluesky, error) {
	u, err := checkStreamURL(rawURL, opt.AllowHosts)
	if err != nil {
		return nil, err
	}
	opt.defaults(KindBluesky)
	c, err := loadCursor[blueskyCursor](opt.State, StateKey(KindBluesky, rawURL))
	if err != nil {
		return nil, err
	}
	accounts, err := newBlueskyAccounts(maxBlueskyAccounts, opt.Metrics.blueskyAccounts.WithLabelValues(opt.Name))
	if err != nil {
		return nil, err
	}
	q := u.Query()
	b := &Bluesky{url: u, client: streamClient(opt.Client), tags: map[string]bool{}, idle: streamIdle, accounts: accounts}
	for _, l := range splitParam(q["lang"]) {
		b.langs = append(b.langs, strings.ToLower(l))
	}
	for _, t := range splitParam(q["tag"]) {
		for k := range tagKeys("", []string{t}) {
			b.tags[k] = true
		}
	}
	b.stream = stream[blueskyCursor]{opt: opt, window: opt.Window, cursor: c, connect: b.connect, buffer: streamBuffer}
	return b, nil
}

// Name implements Source.
func (b *Bluesky) Name() string { return b.opt.Name }

// checkStreamURL accepts the URL of a websocket (ws, wss) or of HTTP, of
// an allowed host.
func checkStreamURL(raw string, allowHosts []string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parsing URL: %w", err)
	}
	h := *u
	switch u.Scheme {
	case "ws":
		h.Scheme = "http"
	case "wss":
		h.Scheme = "https"
	}
	if err := checkURL(h.String(), allowHosts); err != nil {
		return nil, err
	}
	return u, nil
}

// streamClient is the client of a stream: base's transport and redirect
// rules without its overall timeout, which would cut the stream off; the
// dial and the handshake are bounded by a context instead.
func streamClient(base *http.Client) *http.Client {
	c := *base
	c.Timeout = 0
	return &c
}

// splitParam splits repeated and comma-separated query values.
func splitParam(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// dialURL is the URL connected to from cursor c: the configured one less
// tagpulse's filters, for posts and profiles, messages bounded, from a
// little before the cursor.
func (b *Bluesky) dialURL(c blueskyCursor) string {
	u := *b.url
	q := u.Query()
	for _, k := range []string{"lang", "tag", "cursor", "compress", "requireHello"} {
		q.Del(k)
	}
	q["wantedCollections"] = []string{jetstreamPosts, jetstreamProfiles}
	q.Set("maxMessageSizeBytes", strconv.FormatInt(b.opt.MaxMessageBytes, 10))
	if c.TimeUS > 0 {
		q.Set("cursor", strconv.FormatInt(max(c.TimeUS-blueskyRewind.Microseconds(), 1), 10))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// connect reads one websocket connection (connectFunc).
func (b *Bluesky) connect(ctx context.Context, from blueskyCursor, send func(streamMsg[blueskyCursor]) error) error {
	if from.TimeUS > 0 {
		if age := b.opt.Now().Sub(time.UnixMicro(from.TimeUS)); age > jetstreamRetention {
			b.opt.Log.Warn("bluesky cursor is older than Jetstream keeps: it starts at its oldest event, and the posts before that are lost",
				"source", b.opt.Name, "cursor_age", age.Round(time.Second))
		}
	}
	target := b.dialURL(from)
	dctx, cancel := context.WithTimeout(ctx, streamDialTimeout)
	conn, resp, err := websocket.Dial(dctx, target, &websocket.DialOptions{
		HTTPClient: b.client,
		HTTPHeader: http.Header{"User-Agent": {userAgent}},
	})
	cancel()
	if err != nil {
		reason := FetchReason(err)
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			reason = ReasonHTTPStatus
		}
		return &FetchError{Reason: reason, Err: fmt.Errorf("connecting to %s: %w", redactURL(b.url), err)}
	}
	defer conn.CloseNow()
	var reading atomic.Bool // the reader waits for, or reads, a message
	var lastRead atomic.Int64
	lastRead.Store(time.Now().UnixNano())
	stopPing := b.keepalive(ctx, conn, &reading, &lastRead)
	defer stopPing()
	// Messages up to MaxMessageBytes are read; larger ones, up to four
	// times that, are skipped as rejects (the server was asked not to
	// send them); beyond, the connection is closed.
	limit := b.opt.MaxMessageBytes
	conn.SetReadLimit(4 * limit)
	cur := from
	first := true
	for {
		reading.Store(true)
		_, r, err := conn.Reader(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			reason := ReasonNetwork
			if websocket.CloseStatus(err) == websocket.StatusMessageTooBig {
				reason = ReasonTooLarge
			}
			return &FetchError{Reason: reason, Err: fmt.Errorf("reading %s: %w", redactURL(b.url), err)}
		}
		data, err := io.ReadAll(io.LimitReader(r, limit+1))
		if err == nil && int64(len(data)) > limit {
			_, err = io.Copy(io.Discard, r)
			data = nil
			reading.Store(false)
			lastRead.Store(time.Now().UnixNano())
			if err == nil {
				it := Item{Err: fmt.Errorf("jetstream message over %d bytes: %w", limit, post.ErrTooLarge)}
				if err := send(streamMsg[blueskyCursor]{item: &it, cursor: cur}); err != nil {
					return err
				}
				continue
			}
		}
		if err != nil {
			return &FetchError{Reason: ReasonNetwork, Err: fmt.Errorf("reading %s: %w", redactURL(b.url), err)}
		}
		reading.Store(false)
		lastRead.Store(time.Now().UnixNano())
		it, at := b.event(data)
		if at > 0 {
			if first && from.TimeUS > 0 {
				if gap := time.Duration(at-from.TimeUS) * time.Microsecond; gap > time.Minute {
					b.opt.Log.Warn("bluesky: the first event is long after the cursor: nothing matched in between, or the server no longer kept events that old",
						"source", b.opt.Name, "gap", gap.Round(time.Second))
				}
			}
			first = false
			cur.TimeUS = max(cur.TimeUS, at)
		}
		if err := send(streamMsg[blueskyCursor]{item: it, cursor: cur}); err != nil {
			return err
		}
	}
}

// keepalive pings the connection when it has been silent for b.idle
// while its reader waits (a reader held back by a slow consumer is busy,
// not idle, and could not read the pong); when no pong comes within
// b.idle the peer is taken for gone and the connection closed, so the
// reader returns and the source connects again. It returns a function
// that stops it.
func (b *Bluesky) keepalive(ctx context.Context, conn *websocket.Conn, reading *atomic.Bool, lastRead *atomic.Int64) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(b.idle / 2)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if !reading.Load() || time.Since(time.Unix(0, lastRead.Load())) < b.idle {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, b.idle)
			err := conn.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				b.opt.Log.Warn("bluesky: no answer to a ping; connecting again", "source", b.opt.Name, "err", err)
				conn.CloseNow()
				return
			}
			lastRead.Store(time.Now().UnixNano())
		}
	}()
	return func() { close(done) }
}

// redactURL drops the query string and user of u.
func redactURL(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	c.User = nil
	return c.String()
}

// jetstreamEvent is an event as Jetstream documents it.
type jetstreamEvent struct {
	DID    string `json:"did"`
	TimeUS int64  `json:"time_us"`
	Kind   string `json:"kind"`
	Commit *struct {
		Operation  string          `json:"operation"`
		Collection string          `json:"collection"`
		RKey       string          `json:"rkey"`
		Record     json.RawMessage `json:"record"`
	} `json:"commit"`
}

// bskyPost is the part of an app.bsky.feed.post record a post needs.
type bskyPost struct {
	Text      string   `json:"text"`
	CreatedAt string   `json:"createdAt"`
	Langs     []string `json:"langs"`
	Tags      []string `json:"tags"`
	Facets    []struct {
		Features []struct {
			Type string `json:"$type"`
			Tag  string `json:"tag"`
		} `json:"features"`
	} `json:"facets"`
	// Labels are the author's self-labels of the post.
	Labels selfLabels `json:"labels"`
}

// bskyProfile is the part of an app.bsky.actor.profile record read: the
// account's self-labels.
type bskyProfile struct {
	Labels selfLabels `json:"labels"`
}

// selfLabels are the labels an author puts on a record of their own
// (com.atproto.label.defs#selfLabels).
type selfLabels struct {
	Values []struct {
		Val string `json:"val"`
	} `json:"values"`
}

// has reports whether the labels include val.
func (l selfLabels) has(val string) bool {
	for _, v := range l.Values {
		if v.Val == val {
			return true
		}
	}
	return false
}

// blueskyPostID is the id of the post of a record: the record's at://
// URI, whose DID and record key a create and a delete commit both give.
func blueskyPostID(did, rkey string) string {
	return post.ID(KindBluesky, "at://"+did+"/"+jetstreamPosts+"/"+rkey)
}

// event turns one Jetstream message into the item to emit (nil for an
// event that is skipped, and counted) and returns its time_us (0 when it
// has none).
func (b *Bluesky) event(data []byte) (*Item, int64) {
	var ev jetstreamEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return &Item{Err: jsonErr("jetstream event", err)}, 0
	}
	switch {
	case ev.Kind == "identity":
		b.opt.Metrics.skip(b.opt.Name, SkipIdentity)
		return nil, ev.TimeUS
	case ev.Kind == "account":
		b.opt.Metrics.skip(b.opt.Name, SkipAccount)
		return nil, ev.TimeUS
	case ev.Kind == "commit" && ev.Commit != nil && ev.Commit.Collection == jetstreamProfiles:
		b.profile(ev)
		return nil, ev.TimeUS
	case ev.Kind != "commit" || ev.Commit == nil || ev.Commit.Collection != jetstreamPosts:
		b.opt.Metrics.skip(b.opt.Name, SkipOther)
		return nil, ev.TimeUS
	case ev.Commit.Operation == "delete":
		if ev.DID == "" || ev.Commit.RKey == "" {
			return &Item{Err: fmt.Errorf("jetstream delete without did or rkey: %w", post.ErrMissingField)}, ev.TimeUS
		}
		// The record is gone, and its createdAt with it.
		t := post.Tombstone(blueskyPostID(ev.DID, ev.Commit.RKey), time.Time{})
		t.Source = b.opt.Name
		return &Item{Post: t}, ev.TimeUS
	case ev.Commit.Operation != "create":
		b.opt.Metrics.skip(b.opt.Name, SkipUpdate)
		return nil, ev.TimeUS
	}
	if ev.DID == "" || ev.Commit.RKey == "" {
		return &Item{Err: fmt.Errorf("jetstream commit without did or rkey: %w", post.ErrMissingField)}, ev.TimeUS
	}
	var rec bskyPost
	if err := json.Unmarshal(ev.Commit.Record, &rec); err != nil {
		return &Item{Err: jsonErr("post record", err)}, ev.TimeUS
	}
	raw := rec.Tags
	for _, f := range rec.Facets {
		for _, ft := range f.Features {
			if ft.Type == jetstreamTagFacet {
				raw = append(raw, ft.Tag)
			}
		}
	}
	tags := platformTags(raw)
	if strings.TrimSpace(rec.Text) == "" && len(tags) == 0 {
		// An image or a quote alone: nothing to count, and no fault.
		b.opt.Metrics.skip(b.opt.Name, SkipEmpty)
		return nil, ev.TimeUS
	}
	if !b.keep(rec, tags) {
		b.opt.Metrics.skip(b.opt.Name, SkipFiltered)
		return nil, ev.TimeUS
	}
	p := post.Post{
		ID:     blueskyPostID(ev.DID, ev.Commit.RKey),
		Text:   strings.TrimSpace(rec.Text),
		Source: b.opt.Name,
		Author: ev.DID,
		URL:    "https://bsky.app/profile/" + ev.DID + "/post/" + ev.Commit.RKey,
		Tags:   tags,
	}
	if len(rec.Langs) > 0 {
		p.Lang = rec.Langs[0]
	}
	// The set is asked first, whatever the post's labels: the lookup
	// also makes its author the most recently seen.
	account := b.accounts.labels(ev.DID)
	if account.unindexable || rec.Labels.has(noUnauthenticated) {
		p.Indexable = new(bool)
	}
	p.Bot = account.bot || rec.Labels.has(botLabel)
	if rec.CreatedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, rec.CreatedAt)
		if err != nil {
			return &Item{Post: p, Err: fmt.Errorf("post %s: field createdAt: not RFC 3339: %w", p.ID, post.ErrInvalidValue)}, ev.TimeUS
		}
		p.CreatedAt = t.UTC()
	}
	return &Item{Post: p}, ev.TimeUS
}

// profile reads a commit of an account's profile for the self-labels bot
// and !no-unauthenticated: a profile created or updated with them makes
// the DID's later posts a bot's or counted without text and author, one
// without them or a delete makes them not. A record that cannot be read,
// or one of another key than the profile's, changes nothing. Nothing is published,
// and the event is counted as skipped (SkipProfile); like any event its
// time_us moves the cursor, which says how far the stream was read.
func (b *Bluesky) profile(ev jetstreamEvent) {
	b.opt.Metrics.skip(b.opt.Name, SkipProfile)
	if ev.DID == "" || ev.Commit.RKey != profileRKey {
		return
	}
	switch ev.Commit.Operation {
	case "delete":
		b.accounts.set(ev.DID, accountLabels{})
	case "create", "update":
		var rec bskyProfile
		if err := json.Unmarshal(ev.Commit.Record, &rec); err != nil {
			b.opt.Log.Debug("bluesky: a profile record that cannot be read is left out", "source", b.opt.Name, "did", ev.DID, "err", err)
			return
		}
		b.accounts.set(ev.DID, profileLabels(rec.Labels))
	}
}

// keep applies the source's language and tag filters.
func (b *Bluesky) keep(rec bskyPost, tags []string) bool {
	if len(b.langs) > 0 {
		ok := false
		for _, l := range rec.Langs {
			l = strings.ToLower(l)
			for _, w := range b.langs {
				ok = ok || l == w || strings.HasPrefix(l, w+"-")
			}
		}
		if !ok {
			return false
		}
	}
	if len(b.tags) > 0 {
		for k := range tagKeys(rec.Text, tags) {
			if b.tags[k] {
				return true
			}
		}
		return false
	}
	return true
}

// jsonErr wraps a decoding error in the post reason it stands for.
func jsonErr(what string, err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Errorf("%s: field %s: %w", what, typeErr.Field, post.ErrWrongType)
	}
	return fmt.Errorf("%s: %v: %w", what, err, post.ErrInvalidJSON)
}
