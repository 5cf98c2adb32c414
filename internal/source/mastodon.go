package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"tagpulse/internal/htmltext"
	"tagpulse/internal/post"
)

// Mastodon paging: statuses per request, and most requests per poll, so a
// source that fell far behind catches up over a few polls instead of
// hammering the server.
const (
	mastodonLimit    = 40
	mastodonMaxPages = 10
)

type mastodonCursor struct {
	// LastID is the highest status id emitted (Mastodon ids are decimal
	// strings that sort by time).
	LastID string `json:"last_id,omitempty"`
}

// Mastodon is a Mastodon-compatible timeline (/api/v1/timelines/tag/NAME,
// /api/v1/timelines/public), paged forward with min_id. Its statuses' HTML
// always goes through htmltext.ToText: no setting can make it publish raw
// markup.
type Mastodon struct {
	url    *url.URL
	opt    Options
	cursor *cursor[mastodonCursor]
}

// NewMastodon returns the timeline at rawURL (http or https).
func NewMastodon(rawURL string, opt Options) (*Mastodon, error) {
	if err := checkURL(rawURL, opt.AllowHosts); err != nil {
		return nil, err
	}
	u, _ := url.Parse(rawURL)
	opt.defaults(KindMastodon)
	c, err := loadCursor[mastodonCursor](opt.State, StateKey(KindMastodon, rawURL))
	if err != nil {
		return nil, err
	}
	return &Mastodon{url: u, opt: opt, cursor: c}, nil
}

// Name implements Source.
func (m *Mastodon) Name() string { return m.opt.Name }

type status struct {
	ID        string    `json:"id"`
	URI       string    `json:"uri"`
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"created_at"`
	Content   string    `json:"content"`
	Language  string    `json:"language"`
	// Visibility is public, unlisted, private or direct (forks add
	// narrower ones).
	Visibility string `json:"visibility"`
	Account    struct {
		Acct string `json:"acct"`
		// Indexable says the account opted in to having its public posts
		// searched (Mastodon 4.2; absent before, and on other servers).
		Indexable *bool `json:"indexable"`
		// Noindex says the account opted out of search engines (4.0).
		Noindex *bool `json:"noindex"`
		// Bot says the account is automated: its posts count nowhere
		// (docs/trends.md, "Floods and bots").
		Bot bool `json:"bot"`
	} `json:"account"`
	Reblog *status `json:"reblog"`
	// Tags are the tags the instance linked in the status (their name,
	// without '#'): what its trends count.
	Tags []struct {
		Name string `json:"name"`
	} `json:"tags"`
}

// Poll implements Source. The first poll takes the newest page; later polls
// take every status after the cursor, page by page, oldest page first.
func (m *Mastodon) Poll(ctx context.Context, emit Emit) (Result, error) {
	last := m.cursor.value.LastID
	// A status and a boost of it in one poll are one post: the second is
	// a duplicate.
	emitted := map[string]bool{}
	next, wait, err := m.pages(ctx, last, func(it Item, ids statusIDs) error {
		id := ids.timeline
		it.Duplicate = id != "" && !idAfter(id, last) || emitted[it.Post.ID]
		if it.Err == nil {
			emitted[it.Post.ID] = true
		}
		return emit(it)
	})
	if err != nil {
		return Result{}, err
	}
	res := Result{Wait: wait}
	if next != last {
		res.Commit = m.cursor.commit(mastodonCursor{LastID: next})
	}
	return res, nil
}

// pages reads the timeline after status id last (the newest page when
// last is empty), up to mastodonMaxPages pages, and hands each status,
// oldest first, to emit with its ids. It returns the newest id seen, and
// how long the server asked to wait when its rate limit is used up. The
// polling source and the streaming source's backfill share it.
func (m *Mastodon) pages(ctx context.Context, last string, emit func(Item, statusIDs) error) (string, time.Duration, error) {
	for page := 0; page < mastodonMaxPages; page++ {
		resp, err := get(ctx, m.opt.Client, m.pageURL(last), http.Header{"Accept": {"application/json"}}, m.opt.MaxBodyBytes, m.opt.Now())
		if err != nil {
			if page > 0 && FetchReason(err) == ReasonRateLimited {
				// Keep what the earlier pages brought; wait before the next poll.
				return last, RetryAfter(err), nil
			}
			return "", 0, err
		}
		var raw []json.RawMessage
		if err := json.Unmarshal(resp.body, &raw); err != nil {
			return "", 0, fetchErr(ReasonParse, "decoding timeline %s: %w", m.opt.Name, err)
		}
		// The server lists the newest status first; emit oldest first.
		newest := last
		for i := len(raw) - 1; i >= 0; i-- {
			if err := ctx.Err(); err != nil {
				return "", 0, err
			}
			it, ids := m.item(raw[i])
			if idAfter(ids.timeline, newest) {
				newest = ids.timeline
			}
			if err := emit(it, ids); err != nil {
				return "", 0, err
			}
		}
		if h := resp.header.Get("X-RateLimit-Remaining"); h == "0" {
			return newest, capWait(untilReset(resp.header, m.opt.Now())), nil
		}
		done := last == "" || len(raw) < mastodonLimit || newest == last
		last = newest
		if done {
			return last, 0, nil
		}
	}
	// More is left: the next poll goes on from here.
	return last, 0, nil
}

func (m *Mastodon) pageURL(minID string) string {
	u := *m.url
	q := u.Query()
	q.Set("limit", strconv.Itoa(mastodonLimit))
	if minID != "" {
		q.Set("min_id", minID)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// statusIDs are the ids of a status in a timeline: the timeline's (a
// boost's own, for a boost), which the cursor follows, and that of the
// status counted (the boosted one, for a boost), which a delete event
// names.
type statusIDs struct {
	timeline, status string
}

// item turns one status into an item, and returns its ids.
func (m *Mastodon) item(raw json.RawMessage) (Item, statusIDs) {
	var s status
	if err := json.Unmarshal(raw, &s); err != nil {
		var id struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(raw, &id)
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return Item{Err: fmt.Errorf("status %s: field %s: %w", id.ID, typeErr.Field, post.ErrWrongType)}, statusIDs{timeline: id.ID}
		}
		return Item{Err: fmt.Errorf("status: %v: %w", err, post.ErrInvalidJSON)}, statusIDs{timeline: id.ID}
	}
	ids := statusIDs{timeline: s.ID}
	// A boost carries the boosted status: count that post, under its own
	// id, with its own text, tags, author and consent, so a boost is not
	// a second post.
	if s.Reblog != nil {
		s = *s.Reblog
	}
	ids.status = s.ID
	native := s.URI
	if native == "" && s.ID != "" {
		native = m.url.Scheme + "://" + m.url.Host + "/statuses/" + s.ID
	}
	if native == "" {
		return Item{Err: fmt.Errorf("status without id or uri: %w", post.ErrMissingField)}, ids
	}
	tags := make([]string, 0, len(s.Tags))
	for _, t := range s.Tags {
		tags = append(tags, t.Name)
	}
	created := s.CreatedAt.UTC()
	if created.IsZero() {
		created = m.opt.Now().UTC().Truncate(time.Second)
	}
	p := post.Post{
		ID:         post.ID(KindMastodon, native),
		Text:       strings.TrimSpace(htmltext.ToText(s.Content)),
		CreatedAt:  created,
		Source:     m.opt.Name,
		Author:     mastodonAuthor(s),
		URL:        s.URL,
		Lang:       s.Language,
		Tags:       platformTags(tags),
		Visibility: mastodonVisibility(s.Visibility),
		Bot:        s.Account.Bot,
	}
	if !mastodonIndexable(s) {
		p.Indexable = new(bool)
	}
	return Item{Post: p}, ids
}

// mastodonVisibility is a status's visibility as a post gives it: ""
// (public) for public or none, Mastodon's other three as they are, and
// private for any other value: forks' extra scopes (local-only,
// circles) are narrower than public, and trends count only public posts.
func mastodonVisibility(v string) string {
	switch v {
	case "", post.VisibilityPublic:
		return ""
	case post.VisibilityUnlisted, post.VisibilityPrivate, post.VisibilityDirect:
		return v
	}
	return post.VisibilityPrivate
}

// mastodonAuthor is the author of s as user@instance: Mastodon gives a
// local account's acct without its instance, which is then the host of
// the status's URL. The instance is what trending's top-instance share
// counts by (docs/trends.md, "Floods and bots").
func mastodonAuthor(s status) string {
	acct := s.Account.Acct
	if acct == "" || strings.Contains(acct, "@") {
		return acct
	}
	if u, err := url.Parse(s.URL); err == nil && u.Hostname() != "" {
		return acct + "@" + u.Hostname()
	}
	return acct
}

// mastodonIndexable reports whether the author of s allows its text and
// name to be stored and shown: only when the account says indexable true
// and has not opted out of search engines (noindex). Indexing is opt-in on
// Mastodon: an account without the attribute (servers before 4.2, other
// software) is not indexable, as Mastodon itself takes a remote actor
// without it.
func mastodonIndexable(s status) bool {
	return s.Account.Indexable != nil && *s.Account.Indexable && (s.Account.Noindex == nil || !*s.Account.Noindex)
}

// idAfter reports whether Mastodon id a is newer than b. Ids are decimal
// strings: a longer one is larger; equal lengths compare as text. Any id is
// after "".
func idAfter(a, b string) bool {
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a > b
}
