package source

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"

	"tagpulse/internal/htmltext"
	"tagpulse/internal/post"
)

// maxSeen bounds the ids a feed cursor remembers: far more than any feed
// lists at once, so an item is never taken for new while it is still listed.
const maxSeen = 5000

type feedCursor struct {
	ETag         string   `json:"etag,omitempty"`
	LastModified string   `json:"last_modified,omitempty"`
	Seen         []string `json:"seen,omitempty"`
}

// Feed is an RSS 2.0 or Atom feed, fetched with conditional requests and
// deduplicated by item id. Its items' HTML always goes through
// htmltext.ToText: no setting can make it publish raw markup.
type Feed struct {
	url    string
	opt    Options
	cursor *cursor[feedCursor]
}

// NewFeed returns the feed at url (http or https).
func NewFeed(url string, opt Options) (*Feed, error) {
	if err := checkURL(url, opt.AllowHosts); err != nil {
		return nil, err
	}
	opt.defaults(KindRSS)
	c, err := loadCursor[feedCursor](opt.State, StateKey(KindRSS, url))
	if err != nil {
		return nil, err
	}
	return &Feed{url: url, opt: opt, cursor: c}, nil
}

// Name implements Source.
func (f *Feed) Name() string { return f.opt.Name }

// Poll implements Source: it fetches the feed unless it is unchanged (304),
// then emits its items oldest first.
func (f *Feed) Poll(ctx context.Context, emit Emit) (Result, error) {
	cur := f.cursor.value
	hdr := http.Header{}
	if cur.ETag != "" {
		hdr.Set("If-None-Match", cur.ETag)
	}
	if cur.LastModified != "" {
		hdr.Set("If-Modified-Since", cur.LastModified)
	}
	hdr.Set("Accept", "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8")
	resp, err := get(ctx, f.opt.Client, f.url, hdr, f.opt.MaxBodyBytes, f.opt.Now())
	if err != nil {
		return Result{}, err
	}
	if resp.status == http.StatusNotModified {
		return Result{}, nil
	}
	feed, err := gofeed.NewParser().Parse(bytes.NewReader(resp.body))
	if err != nil {
		return Result{}, fetchErr(ReasonParse, "parsing feed %s: %w", f.opt.Name, err)
	}

	seen := make(map[string]bool, len(cur.Seen))
	for _, id := range cur.Seen {
		seen[id] = true
	}
	next := feedCursor{ETag: resp.header.Get("ETag"), LastModified: resp.header.Get("Last-Modified")}
	next.Seen = append(next.Seen, cur.Seen...)
	// Feeds list the newest item first; emit in the order they were written.
	for i := len(feed.Items) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		it := f.item(feed, feed.Items[i])
		if id := it.Post.ID; id != "" {
			it.Duplicate = seen[id]
			if !seen[id] {
				seen[id] = true
				next.Seen = append(next.Seen, id)
			}
		}
		if err := emit(it); err != nil {
			return Result{}, err
		}
	}
	if n := len(next.Seen); n > maxSeen {
		next.Seen = next.Seen[n-maxSeen:]
	}
	return Result{Commit: f.cursor.commit(next)}, nil
}

func (f *Feed) item(feed *gofeed.Feed, it *gofeed.Item) Item {
	body := it.Content
	if strings.TrimSpace(body) == "" {
		body = it.Description
	}
	text := strings.TrimSpace(htmltext.ToText(body))
	if title := strings.TrimSpace(htmltext.ToText(it.Title)); title != "" && !strings.HasPrefix(text, title) {
		text = strings.TrimSpace(title + "\n\n" + text)
	}
	p := post.Post{
		ID:        f.itemID(it, text),
		Text:      text,
		CreatedAt: itemTime(it, f.opt.Now),
		Source:    KindRSS,
		URL:       it.Link,
		Lang:      feed.Language,
	}
	if len(it.Authors) > 0 && it.Authors[0] != nil {
		p.Author = it.Authors[0].Name
	}
	return Item{Post: p}
}

// itemID is the GUID (Atom: id), else the link, else a hash of the content.
// A GUID that is not a URL or URN ("42") is only unique within its feed, so
// it is qualified with the feed's URL.
func (f *Feed) itemID(it *gofeed.Item, text string) string {
	switch {
	case strings.TrimSpace(it.GUID) != "":
		guid := strings.TrimSpace(it.GUID)
		if !strings.Contains(guid, ":") {
			guid = f.url + "#" + guid
		}
		return post.ID(KindRSS, guid)
	case strings.TrimSpace(it.Link) != "":
		return post.ID(KindRSS, strings.TrimSpace(it.Link))
	}
	return post.ContentID(KindRSS, f.url+"\n"+it.Title+"\n"+text)
}

func itemTime(it *gofeed.Item, now func() time.Time) time.Time {
	switch {
	case it.PublishedParsed != nil:
		return it.PublishedParsed.UTC()
	case it.UpdatedParsed != nil:
		return it.UpdatedParsed.UTC()
	}
	return now().UTC().Truncate(time.Second)
}
