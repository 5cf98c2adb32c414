package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"tagpulse/internal/post"
)

// mastodonStreamCursor is the last status id seen (for the backfill), the
// ids of the posts published last, and the posts of the statuses read
// last, for their delete events.
type mastodonStreamCursor struct {
	LastID string   `json:"last_id,omitempty"`
	Recent []string `json:"recent_ids,omitempty"`
	// Statuses are the newest statusIndexSaved of the index, oldest
	// first: a slice of the index's array, which is never written below
	// its length, so a cursor handed to another goroutine stays as it
	// was.
	Statuses []statusRef `json:"statuses,omitempty"`
}

// Bounds of the statuses a stream remembers the posts of.
const (
	// statusIndexKept is how many the index holds in memory.
	statusIndexKept = 10000
	// statusIndexSaved is how many the cursor keeps across restarts.
	statusIndexSaved = 1000
)

// statusRef is a status read from the stream: its id on the instance
// streamed, which a delete event names, and the post it was published as.
type statusRef struct {
	Status    string    `json:"status"`
	Post      string    `json:"post"`
	CreatedAt time.Time `json:"created_at"`
}

// statusIndex maps the statuses a stream read to their posts, so that a
// delete event, which gives only the status id, becomes the tombstone of
// the post. Only the goroutine of the connection holds it
// (MastodonStream.index hands it from one connection to the next).
type statusIndex struct {
	posts map[string]statusRef // by status id
	refs  []statusRef          // in the order read, newest last; appended to only
}

// add records a status and its post, unless it is known already; it keeps
// the newest statusIndexKept.
func (x *statusIndex) add(r statusRef) {
	if x.posts == nil {
		x.posts = map[string]statusRef{}
	}
	if old, ok := x.posts[r.Status]; ok && old.Post == r.Post {
		return
	}
	x.posts[r.Status] = r
	if len(x.refs) >= 2*statusIndexKept {
		// A new array: the old one stays as the cursors sent hold it.
		drop := len(x.refs) - statusIndexKept
		for _, old := range x.refs[:drop] {
			if x.posts[old.Status] == old {
				delete(x.posts, old.Status)
			}
		}
		x.refs = append(make([]statusRef, 0, 2*statusIndexKept), x.refs[drop:]...)
	}
	x.refs = append(x.refs, r)
}

// saved returns the newest statusIndexSaved refs, for the cursor.
func (x *statusIndex) saved() []statusRef {
	refs := x.refs[max(len(x.refs)-statusIndexSaved, 0):]
	return refs[:len(refs):len(refs)]
}

func (c mastodonStreamCursor) recentIDs() []string { return c.Recent }
func (c mastodonStreamCursor) withRecentIDs(ids []string) mastodonStreamCursor {
	c.Recent = ids
	return c
}

// MastodonStream reads a Mastodon timeline (public, hashtag or list)
// through the streaming API: server-sent events, one "update" per new
// status. Streaming has no cursor, so each connection first backfills with
// one poll of the timeline since the last status id seen (the polling
// source's code): nothing that came while disconnected is lost, and what
// both bring is published once (the cursor's recent ids). Statuses are
// made into posts as the polling source makes them. A "delete" event of a
// status read before (one of the last statusIndexKept; statusIndexSaved
// across restarts) is published as the tombstone of its post; one of a
// status never read is skipped (SkipDelete).
type MastodonStream struct {
	stream[mastodonStreamCursor]
	streamURL string
	timeline  *Mastodon
	client    *http.Client
	// idle is how long the stream may be silent, heartbeats included,
	// before it is taken for dead (streamIdle; shorter in tests).
	idle time.Duration
	// index holds the statusIndex while no connection does: a connection
	// takes it, and puts it back when it ends.
	index chan *statusIndex
}

// NewMastodonStream returns the timeline at rawURL, given as a timeline
// URL (https://host/api/v1/timelines/tag/otan, …/timelines/public,
// …/timelines/list/ID) or as its streaming URL
// (…/api/v1/streaming/hashtag?tag=otan, …/streaming/public,
// …/streaming/list?list=ID). An access_token query parameter goes to both.
func NewMastodonStream(rawURL string, opt Options) (*MastodonStream, error) {
	if err := checkURL(rawURL, opt.AllowHosts); err != nil {
		return nil, err
	}
	u, _ := url.Parse(rawURL)
	streamURL, timelineURL, err := mastodonStreamURLs(u)
	if err != nil {
		return nil, err
	}
	opt.defaults(KindMastodonStream)
	c, err := loadCursor[mastodonStreamCursor](opt.State, StateKey(KindMastodonStream, timelineURL.String()))
	if err != nil {
		return nil, err
	}
	// The backfill keeps no cursor of its own: the stream's is passed to it.
	tl, err := NewMastodon(timelineURL.String(), Options{Name: opt.Name, Client: opt.Client, MaxBodyBytes: opt.MaxBodyBytes, Now: opt.Now, AllowHosts: opt.AllowHosts})
	if err != nil {
		return nil, err
	}
	m := &MastodonStream{streamURL: streamURL.String(), timeline: tl, client: streamClient(opt.Client), idle: streamIdle, index: make(chan *statusIndex, 1)}
	m.index <- &statusIndex{}
	m.stream = stream[mastodonStreamCursor]{opt: opt, window: opt.Window, cursor: c, connect: m.connect, buffer: streamBuffer}
	return m, nil
}

// Name implements Source.
func (m *MastodonStream) Name() string { return m.opt.Name }

// errStreamIdle ends a stream that stayed silent too long.
var errStreamIdle = errors.New("stream silent")

// mastodonStreamURLs returns the streaming URL and the timeline URL of a
// timeline given in either form.
func mastodonStreamURLs(u *url.URL) (stream, timeline *url.URL, err error) {
	q := u.Query()
	sq, tq := url.Values{}, url.Values{}
	if tok := q.Get("access_token"); tok != "" {
		sq.Set("access_token", tok)
		tq.Set("access_token", tok)
	}
	local, remote := q.Get("local") == "true", q.Get("remote") == "true"
	path := strings.TrimSuffix(u.Path, "/")
	var sPath, tPath string
	switch {
	case path == "/api/v1/timelines/public", strings.HasPrefix(path, "/api/v1/streaming/public"):
		sPath, tPath = "/api/v1/streaming/public", "/api/v1/timelines/public"
		local = local || strings.HasSuffix(path, "/local")
		remote = remote || strings.HasSuffix(path, "/remote")
		switch {
		case local:
			sPath += "/local"
			tq.Set("local", "true")
		case remote:
			sPath += "/remote"
			tq.Set("remote", "true")
		}
		if q.Get("only_media") == "true" {
			sq.Set("only_media", "true")
			tq.Set("only_media", "true")
		}
	case strings.HasPrefix(path, "/api/v1/timelines/tag/"), strings.HasPrefix(path, "/api/v1/streaming/hashtag"):
		tag := q.Get("tag")
		if name, ok := strings.CutPrefix(path, "/api/v1/timelines/tag/"); ok {
			tag = name
		}
		if tag == "" {
			return nil, nil, errors.New("mastodon-stream: hashtag timeline without a tag")
		}
		local = local || strings.HasSuffix(path, "/hashtag/local")
		sPath, tPath = "/api/v1/streaming/hashtag", "/api/v1/timelines/tag/"+url.PathEscape(tag)
		if local {
			sPath += "/local"
			tq.Set("local", "true")
		}
		sq.Set("tag", tag)
	case strings.HasPrefix(path, "/api/v1/timelines/list/"), path == "/api/v1/streaming/list":
		list := q.Get("list")
		if id, ok := strings.CutPrefix(path, "/api/v1/timelines/list/"); ok {
			list = id
		}
		if list == "" {
			return nil, nil, errors.New("mastodon-stream: list timeline without a list id")
		}
		sPath, tPath = "/api/v1/streaming/list", "/api/v1/timelines/list/"+url.PathEscape(list)
		sq.Set("list", list)
	default:
		return nil, nil, fmt.Errorf("mastodon-stream: %s is not a public, hashtag or list timeline (/api/v1/timelines/… or /api/v1/streaming/…)", u.Path)
	}
	s, t := *u, *u
	s.Path, s.RawPath, s.RawQuery = sPath, "", sq.Encode()
	t.Path, t.RawPath, t.RawQuery = tPath, "", tq.Encode()
	if p, err := url.PathUnescape(tPath); err == nil {
		t.Path, t.RawPath = p, tPath
	}
	return &s, &t, nil
}

// connect opens the event stream, backfills, then reads events
// (connectFunc). The stream is opened before the backfill, so a status
// that comes between the two is in one or the other.
func (m *MastodonStream) connect(ctx context.Context, from mastodonStreamCursor, send func(streamMsg[mastodonStreamCursor]) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.streamURL, nil)
	if err != nil {
		return fetchErr(ReasonOther, "building request: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", userAgent)
	resp, err := m.client.Do(req)
	if err != nil {
		return &FetchError{Reason: FetchReason(err), Err: fmt.Errorf("connecting to %s: %w", redact(req), err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusTooManyRequests {
			wait := capWait(retryAfter(resp.Header, m.opt.Now()))
			return &FetchError{Reason: ReasonRateLimited, RetryAfter: wait, Err: fmt.Errorf("connecting to %s: rate limited (HTTP 429), retry after %s", redact(req), wait)}
		}
		return fetchErr(ReasonHTTPStatus, "connecting to %s: HTTP %d", redact(req), resp.StatusCode)
	}

	index := <-m.index
	defer func() { m.index <- index }()
	if len(index.refs) == 0 {
		for _, r := range from.Statuses {
			index.add(r)
		}
	}
	cur := from
	var idle *time.Timer // set once the events are read
	msg := func(it Item, ids statusIDs) error {
		if idAfter(ids.timeline, cur.LastID) {
			cur.LastID = ids.timeline
		}
		if it.Err == nil && ids.status != "" && !it.Post.Deleted {
			index.add(statusRef{Status: ids.status, Post: it.Post.ID, CreatedAt: it.Post.CreatedAt})
			cur.Statuses = index.saved()
		}
		if idle != nil {
			// Waiting for a slow consumer is not silence.
			idle.Stop()
			defer idle.Reset(m.idle)
		}
		return send(streamMsg[mastodonStreamCursor]{item: &it, cursor: cur})
	}
	if _, _, err := m.timeline.pages(ctx, from.LastID, msg); err != nil {
		return fmt.Errorf("backfilling %s: %w", m.opt.Name, err)
	}

	events := newSSEReader(resp.Body, int(m.opt.MaxMessageBytes))
	// A peer gone without closing the connection sends no heartbeat:
	// after m.idle of silence the request is cancelled and the source
	// connects again.
	idle = time.AfterFunc(m.idle, func() { cancel(errStreamIdle) })
	defer idle.Stop()
	events.onLine = func() { idle.Reset(m.idle) }
	for {
		ev, err := events.next()
		if err != nil {
			if errors.Is(context.Cause(ctx), errStreamIdle) {
				return &FetchError{Reason: ReasonTimeout, Err: fmt.Errorf("reading %s: nothing, not even a heartbeat, for %s: %w", redact(req), m.idle, errStreamIdle)}
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			reason := ReasonNetwork
			if errors.Is(err, errSSETooLarge) {
				reason = ReasonTooLarge
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // the server ended the stream: connect again
			}
			return &FetchError{Reason: reason, Err: fmt.Errorf("reading %s: %w", redact(req), err)}
		}
		switch ev.Event {
		case "update":
			if err := msg(m.timeline.item(ev.Data)); err != nil {
				return err
			}
		case "delete":
			ref, ok := index.posts[deletedStatus(ev.Data)]
			if !ok {
				// A status this source never read (older than the index,
				// or never in the timeline): there is no post to delete.
				m.opt.Metrics.skip(m.opt.Name, SkipDelete)
				continue
			}
			t := post.Tombstone(ref.Post, ref.CreatedAt)
			t.Source = m.opt.Name
			if err := msg(Item{Post: t}, statusIDs{}); err != nil {
				return err
			}
		case "status.update":
			m.opt.Metrics.skip(m.opt.Name, SkipUpdate)
		default:
			m.opt.Metrics.skip(m.opt.Name, SkipOther)
		}
	}
}

// deletedStatus returns the status id of a delete event's payload: the
// id, bare as Mastodon sends it, or as a JSON string.
func deletedStatus(data []byte) string {
	id := strings.TrimSpace(string(data))
	var s string
	if json.Unmarshal([]byte(id), &s) == nil {
		return s
	}
	return id
}
