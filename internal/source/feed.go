package source

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"

	"tagpulse/internal/htmltext"
	"tagpulse/internal/post"
)

// maxSeen bounds the ids of undated items a feed cursor remembers: far
// more than any feed lists at once.
const maxSeen = 5000

// feedCursor says which items of a feed were seen. Dated items (nearly
// all) are told apart by date: an item is new when it is dated after
// Newest, or at Newest with an id not in AtNewest. That takes a few bytes
// whatever the size of the feed, where a list of ids had to hold every
// item listed (a feed of 6,000 items overflowed 5,000 ids and published
// 1,000 old items again on every poll). The price: an item added to a
// feed with a date before the newest already seen is taken as old.
// Undated items, and items dated past what any entry point accepts
// (post.MaxFutureSkewLimit), fall back to their ids, in Seen. ETag and LastModified
// make the next request conditional, so an unchanged feed costs a 304.
type feedCursor struct {
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	Newest       time.Time `json:"newest,omitzero"`
	AtNewest     []string  `json:"at_newest,omitempty"`
	// Seen holds the ids of undated items; before Newest existed it held
	// every id, and is still honoured as such until Newest is set.
	Seen []string `json:"seen,omitempty"`
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

	next := feedCursor{
		ETag: resp.header.Get("ETag"), LastModified: resp.header.Get("Last-Modified"),
		Newest: cur.Newest, AtNewest: slices.Clone(cur.AtNewest),
	}
	seen := make(map[string]bool, len(cur.Seen)+len(cur.AtNewest))
	for _, id := range cur.Seen {
		seen[id] = true
	}
	atNewest := make(map[string]bool, len(cur.AtNewest))
	for _, id := range cur.AtNewest {
		atNewest[id] = true
	}
	latest := f.opt.Now().Add(post.MaxFutureSkewLimit)
	emitted := map[string]bool{}
	nextAt := maps.Clone(atNewest) // the ids of next.AtNewest
	var undated []string           // ids of the undated items listed now
	// Feeds list the newest item first; emit in the order they were written.
	for i := len(feed.Items) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		it, dated := f.item(feed, feed.Items[i])
		if id := it.Post.ID; id != "" {
			at := it.Post.CreatedAt
			// A date past what any entry point accepts is rejected
			// downstream; it must not move Newest, or every later item
			// would look old: such an item is remembered by id.
			dated = dated && !at.After(latest)
			switch {
			case emitted[id]:
				it.Duplicate = true
			case !dated || cur.Newest.IsZero():
				it.Duplicate = seen[id]
			default:
				it.Duplicate = at.Before(cur.Newest) || (at.Equal(cur.Newest) && atNewest[id])
			}
			switch {
			case emitted[id]:
			case !dated:
				undated = append(undated, id)
			case at.After(next.Newest):
				next.Newest, next.AtNewest = at, []string{id}
				nextAt = map[string]bool{id: true}
			case at.Equal(next.Newest) && !nextAt[id]:
				next.AtNewest = append(next.AtNewest, id)
				nextAt[id] = true
			}
			emitted[id] = true
		}
		if err := emit(it); err != nil {
			return Result{}, err
		}
	}
	next.Seen = nextSeen(cur, next, undated)
	return Result{Commit: f.cursor.commit(next)}, nil
}

// nextSeen is the Seen of the next cursor: the undated ids listed now,
// after the ones remembered from before (up to maxSeen in all). Until
// some item was dated, every id counts; a cursor written before Newest
// existed holds every id, which are dropped once dates take over.
func nextSeen(cur, next feedCursor, undated []string) []string {
	var keep []string
	if !cur.Newest.IsZero() || next.Newest.IsZero() {
		keep = cur.Seen
	}
	listed := make(map[string]bool, len(undated))
	for _, id := range undated {
		listed[id] = true
	}
	out := make([]string, 0, len(keep)+len(undated))
	for _, id := range keep {
		if !listed[id] {
			out = append(out, id)
		}
	}
	out = append(out, undated...)
	if n := len(out); n > maxSeen {
		out = out[n-maxSeen:]
	}
	return out
}

// item turns a feed item into a post; dated says whether the feed gave
// its date (else created_at is the time of ingestion).
func (f *Feed) item(feed *gofeed.Feed, it *gofeed.Item) (Item, bool) {
	body := it.Content
	if strings.TrimSpace(body) == "" {
		body = it.Description
	}
	text := strings.TrimSpace(htmltext.ToText(body))
	if title := strings.TrimSpace(htmltext.ToText(it.Title)); title != "" && !strings.HasPrefix(text, title) {
		text = strings.TrimSpace(title + "\n\n" + text)
	}
	created, dated := itemTime(it, f.opt.Now)
	p := post.Post{
		ID:        f.itemID(it, text),
		Text:      text,
		CreatedAt: created,
		Source:    f.opt.Name,
		URL:       it.Link,
		Lang:      feed.Language,
	}
	if len(it.Authors) > 0 && it.Authors[0] != nil {
		p.Author = it.Authors[0].Name
	}
	return Item{Post: p}, dated
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

// itemTime is the item's publication date, else its update date, else
// the time of ingestion (dated false).
func itemTime(it *gofeed.Item, now func() time.Time) (t time.Time, dated bool) {
	switch {
	case it.PublishedParsed != nil:
		return it.PublishedParsed.UTC(), true
	case it.UpdatedParsed != nil:
		return it.UpdatedParsed.UTC(), true
	}
	return now().UTC().Truncate(time.Second), false
}
