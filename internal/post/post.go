// Package post defines a post as tagpulse carries it: the JSON that JSONL
// files and webhook bodies hold, and the Kafka message value that ingest
// publishes and aggregate consumes (the post plus its extracted hashtags and
// the extractor version). Decoding is strict and bounded, so bad input is
// rejected with a reason instead of being guessed at.
package post

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"tagpulse/internal/hashtag"
)

// Limits on what a post may hold. MaxTextBytes is the default; callers may
// pass a smaller or larger limit to DecodePost.
const (
	MaxTextBytes    = 64 << 10
	MaxIDBytes      = 512
	MaxFieldBytes   = 2048
	MaxMessageBytes = 1 << 20
	// MaxExcerptRunes bounds the excerpt of a post's text that the posts
	// table keeps (Excerpt).
	MaxExcerptRunes = 280
)

// Post is one social post, as a JSONL line or a webhook body gives it
// (docs/ingest.md, "The post format"). ID and Text are required; CreatedAt
// defaults to the time of ingestion.
type Post struct {
	// ID identifies the post; aggregate counts a post id once per tag, so
	// the same id published twice is counted once.
	ID string `json:"id"`
	// Text is what the hashtags are extracted from.
	Text string `json:"text"`
	// CreatedAt is the minute the post is counted in: RFC 3339, within
	// [MinCreatedAt, now + the future skew] (CheckCreatedAt).
	CreatedAt time.Time `json:"created_at"`
	// Source, Author, URL and Lang are carried to Kafka as given; Source
	// and Lang are the filters of the queries. Nothing is detected.
	Source string `json:"source,omitempty"`
	Author string `json:"author,omitempty"`
	URL    string `json:"url,omitempty"`
	Lang   string `json:"lang,omitempty"`
	// Tags are the hashtags the producer already knows (JSON "hashtags":
	// an array of strings, each with or without its '#'), merged with the
	// ones extracted from Text. A Message's own "hashtags" field (the
	// extracted tags) hides this one in its JSON.
	Tags []string `json:"hashtags,omitempty"`
	// Deleted marks a tombstone: the post with this id was deleted at its
	// source and stops counting (docs/exactly-once.md, "Deletions"). A
	// tombstone needs only its id; its created_at, when given, is the
	// post's own creation time (it then takes effect at once), and its
	// text and hashtags are not read.
	Deleted bool `json:"deleted,omitempty"`
	// Indexable false says the author does not allow indexing: the post
	// counts, but its text and author are neither stored nor shown
	// (docs/ingest.md, "Consent"). Absent means allowed.
	Indexable *bool `json:"indexable,omitempty"`
	// Bot says the source marks the author as an automated account
	// (Mastodon's bot flag, a Bluesky bot self-label). A bot's posts are
	// counted apart and in no trend (docs/trends.md, "Floods and bots").
	Bot bool `json:"bot,omitempty"`
	// Visibility is who the post was written for, in Mastodon's terms:
	// "public" (the same as absent), "unlisted", "private" or "direct".
	// Only public posts are counted: ingest publishes no other
	// (docs/ingest.md, "Consent"), so a message never carries one.
	Visibility string `json:"visibility,omitempty"`
}

// The visibilities a post may give (Post.Visibility).
const (
	VisibilityPublic   = "public"
	VisibilityUnlisted = "unlisted"
	VisibilityPrivate  = "private"
	VisibilityDirect   = "direct"
)

// IsPublic reports whether the post is public: its visibility is absent or
// "public". Trends count only public posts, as the platforms' own do.
func (p Post) IsPublic() bool { return p.Visibility == "" || p.Visibility == VisibilityPublic }

// Tombstone returns the tombstone of the post with id: a Post with only
// its id and Deleted set, and created_at when known (zero when not).
func Tombstone(id string, createdAt time.Time) Post {
	return Post{ID: id, Deleted: true, CreatedAt: createdAt}
}

// AllowsIndexing reports whether the post's text and author may be stored
// and shown: unless Indexable says false.
func (p Post) AllowsIndexing() bool { return p.Indexable == nil || *p.Indexable }

// Hashtag is one distinct tag of a post: its canonical key and the spelling
// the post used. It is what `ingest extract` prints.
type Hashtag struct {
	Tag     string `json:"tag"`
	Display string `json:"display"`
}

// Message is the Kafka value: the post, its distinct hashtags in order of
// first appearance, and the version of the extractor that found them.
type Message struct {
	Post
	Hashtags         []Hashtag `json:"hashtags"`
	ExtractorVersion int       `json:"extractor_version"`
	// ProducerTags are the post's Tags (the producer's own, without their
	// '#') within the bounds of tags (hashtag.MaxTagBytes each, at most
	// hashtag.MaxTagsPerPost), kept apart from Hashtags so that extracting
	// again from a message (a rebuild with a newer extractor) merges them
	// as ingest did: AppendHashtags(dst, m.Text, m.ProducerTags).
	ProducerTags []string `json:"producer_hashtags,omitempty"`
}

// ProducerTags returns the tags of a post's producer as a message keeps
// them (Message.ProducerTags): without their '#', the ones over
// hashtag.MaxTagBytes left out (they are never counted), at most
// hashtag.MaxTagsPerPost; nil when there are none.
func ProducerTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		if name := TagName(t); len(name) <= hashtag.MaxTagBytes && len(out) < hashtag.MaxTagsPerPost {
			out = append(out, name)
		}
	}
	return out
}

// Reasons a post is rejected. They are bounded, so they serve as metric
// label values, and each error returned by the decoders wraps one of them.
var (
	ErrInvalidJSON  = errors.New("invalid JSON")
	ErrInvalidUTF8  = errors.New("invalid UTF-8")
	ErrMissingField = errors.New("missing field")
	ErrWrongType    = errors.New("wrong type")
	ErrTooLarge     = errors.New("too large")
	ErrInvalidValue = errors.New("invalid value")
)

// Reason returns a short label for a decoding error ("invalid_json",
// "missing_field", …), or "other" for an error that is none of them.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrInvalidJSON):
		return "invalid_json"
	case errors.Is(err, ErrInvalidUTF8):
		return "invalid_utf8"
	case errors.Is(err, ErrMissingField):
		return "missing_field"
	case errors.Is(err, ErrWrongType):
		return "wrong_type"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrInvalidValue):
		return "invalid_value"
	}
	return "other"
}

// The accepted range of created_at. One policy holds at every entry point
// (files, feeds, timelines, the webhook, and the aggregator's decoding of
// Kafka messages): a post dated outside the range is rejected with reason
// invalid_value, never clamped, since a clamped date would count the post
// in a minute it was not written in.
var (
	// MinCreatedAt is the earliest accepted created_at: no social post is
	// older, and it keeps 0001-01-01 (Go's zero time) and Unix 0 out.
	MinCreatedAt = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
)

const (
	// DefaultMaxFutureSkew is how far past the clock of ingest a post's
	// created_at may lie by default: enough for a source whose clock runs
	// ahead, not enough to make a partition for a day to come.
	DefaultMaxFutureSkew = 15 * time.Minute
	// MaxFutureSkewLimit is the largest skew ingest may be configured
	// with, and the one the aggregator applies when it decodes a message:
	// nothing ingest accepted is refused later, and a producer that is not
	// ingest cannot write far into the future.
	MaxFutureSkewLimit = 24 * time.Hour
)

// CheckCreatedAt returns an error wrapping ErrInvalidValue when t lies
// before MinCreatedAt or more than maxSkew after now.
func CheckCreatedAt(t, now time.Time, maxSkew time.Duration) error {
	switch latest := now.Add(maxSkew); {
	case t.Before(MinCreatedAt):
		return fmt.Errorf("field created_at: %s is before %s: %w", t.UTC().Format(time.RFC3339), MinCreatedAt.Format(time.RFC3339), ErrInvalidValue)
	case t.After(latest):
		return fmt.Errorf("field created_at: %s is more than %s in the future: %w", t.UTC().Format(time.RFC3339), maxSkew, ErrInvalidValue)
	}
	return nil
}

// createdAtExample is the form of created_at the errors show.
const createdAtExample = "2025-11-05T09:00:00Z"

// ParseCreatedAt parses a created_at given as text (a cell of a CSV file)
// as the JSON decoding does: RFC 3339, with the same errors. Go's zero
// time is refused like any date before MinCreatedAt, since a zero
// CreatedAt means "none given".
func ParseCreatedAt(s string) (time.Time, error) {
	var t time.Time
	if err := t.UnmarshalText([]byte(s)); err != nil {
		return time.Time{}, fmt.Errorf("field created_at: not RFC 3339 (like %q): %w", createdAtExample, ErrInvalidValue)
	}
	if t.IsZero() {
		return time.Time{}, CheckCreatedAt(t, time.Time{}, 0)
	}
	return t, nil
}

// DecodeOptions bound what DecodePost accepts.
type DecodeOptions struct {
	// MaxTextBytes bounds the text; 0 means the package default.
	MaxTextBytes int
	// Now gives CreatedAt when the post has none; nil means time.Now.
	Now func() time.Time
}

// DecodePost decodes one post from JSON. Unknown fields are ignored; a field
// of the wrong type is rejected with its name; invalid UTF-8 anywhere in the
// input is rejected rather than silently replaced.
func DecodePost(data []byte, opt DecodeOptions) (Post, error) {
	var p Post
	if err := decodeStrict(data, &p, nil, nil, nil); err != nil {
		return Post{}, err
	}
	if p.CreatedAt.IsZero() && !p.Deleted {
		if hasCreatedAt(data) {
			// An explicit 0001-01-01T00:00:00Z is a date, and out of
			// range; only a missing created_at means "now".
			return Post{}, CheckCreatedAt(p.CreatedAt, time.Time{}, 0)
		}
		now := time.Now
		if opt.Now != nil {
			now = opt.Now
		}
		p.CreatedAt = now().UTC().Truncate(time.Second)
	}
	max := opt.MaxTextBytes
	if max <= 0 {
		max = MaxTextBytes
	}
	return p, p.Validate(max)
}

// hasCreatedAt reports whether the JSON object data has a created_at that
// is not null. It runs only for posts whose created_at decoded as zero.
func hasCreatedAt(data []byte) bool {
	var probe struct {
		CreatedAt *json.RawMessage `json:"created_at"`
	}
	return json.Unmarshal(data, &probe) == nil && probe.CreatedAt != nil && string(*probe.CreatedAt) != "null"
}

// DecodeMessage decodes a Kafka value as ingest wrote it.
func DecodeMessage(data []byte) (Message, error) { return decodeMessage(data, false) }

// DecodeMessageWithoutText decodes a Kafka value as DecodeMessage does and
// rejects the same values, but leaves Text empty: for counting, which never
// reads the text, it saves copying the largest field of every message.
func DecodeMessageWithoutText(data []byte) (Message, error) { return decodeMessage(data, true) }

// decodeMessage decodes a message.
func decodeMessage(data []byte, withoutText bool) (Message, error) {
	var m Message
	excerpt := 0
	if withoutText {
		excerpt = -1
	}
	err := decodeMessageInto(&m, data, excerpt, nil)
	return m, err
}

// decodeMessageInto decodes a message into *m (left zero on error). The
// text is checked in full; excerpt says what of it m keeps: all of it
// (0), none (-1), or at most that many runes (Excerpt).
func decodeMessageInto(m *Message, data []byte, excerpt int, fd *fastDecoder) error {
	withoutText := excerpt != 0
	*m = Message{}
	if len(data) > MaxMessageBytes {
		return fmt.Errorf("message of %d bytes: %w", len(data), ErrTooLarge)
	}
	var raw []byte
	rawText := &raw
	if !withoutText {
		rawText = nil
	}
	err := decodeStrict(data, &m.Post, m, rawText, fd)
	if err == nil {
		err = m.check(raw)
	}
	if err != nil {
		*m = Message{}
		return err
	}
	switch {
	case excerpt < 0:
		m.Text = ""
	case excerpt > 0 && raw != nil:
		// The text was left undecoded, and has no escapes.
		kept, cut := excerptCut(raw, excerpt)
		m.Text = fd.blocksOrNil().join(kept, ellipsisIf(cut))
	case excerpt > 0:
		m.Text = Excerpt(m.Text, excerpt)
	}
	return nil
}

// Excerpt returns the start of text, at most n runes (n > 0) with
// surrounding white space trimmed: the whole text when it fits, else its
// first n-1 runes and "…". It is what the posts table keeps of a post.
func Excerpt(text string, n int) string {
	kept, cut := excerptCut([]byte(text), n)
	return string(kept) + ellipsisIf(cut)
}

// excerptCut returns the part of text (valid UTF-8) an excerpt of n
// runes keeps, and whether text was cut (the excerpt then ends with "…").
// It reads at most n runes of the text, not all of it.
func excerptCut(text []byte, n int) ([]byte, bool) {
	text = bytes.TrimLeftFunc(text, unicode.IsSpace)
	// In valid UTF-8 every byte but a continuation byte (10xxxxxx) starts
	// a rune: end stops at the start of rune n+1, or at the end.
	end, runes := 0, 0
	for ; end < len(text); end++ {
		if text[end]&0xC0 != 0x80 {
			if runes == n {
				break
			}
			runes++
		}
	}
	if len(bytes.TrimRightFunc(text[end:], unicode.IsSpace)) == 0 {
		return bytes.TrimRightFunc(text[:end], unicode.IsSpace), false
	}
	// Cut: n-1 runes leave room for the ellipsis.
	_, size := utf8.DecodeLastRune(text[:end])
	return bytes.TrimRightFunc(text[:end-size], unicode.IsSpace), true
}

func ellipsisIf(cut bool) string {
	if cut {
		return "…"
	}
	return ""
}

// checkTombstone validates a tombstone message: its id, and its
// created_at when it has one. A tombstone carries no hashtags.
func (m *Message) checkTombstone() error {
	if !m.CreatedAt.IsZero() {
		if err := CheckCreatedAt(m.CreatedAt, time.Now(), MaxFutureSkewLimit); err != nil {
			return err
		}
	}
	if len(m.Hashtags) > 0 || len(m.ProducerTags) > 0 {
		return fmt.Errorf("field hashtags: a tombstone (deleted) has none: %w", ErrInvalidValue)
	}
	return m.Post.Validate(MaxMessageBytes)
}

// check validates a decoded message; raw is its text when the decoder
// left it undecoded (it had no escapes).
func (m *Message) check(raw []byte) error {
	if m.Deleted {
		return m.checkTombstone()
	}
	if m.CreatedAt.IsZero() {
		return fmt.Errorf("field created_at: %w", ErrMissingField)
	}
	if err := CheckCreatedAt(m.CreatedAt, time.Now(), MaxFutureSkewLimit); err != nil {
		return err
	}
	if len(m.Hashtags) > hashtag.MaxTagsPerPost {
		return fmt.Errorf("field hashtags: %d tags, limit %d: %w", len(m.Hashtags), hashtag.MaxTagsPerPost, ErrTooLarge)
	}
	check := m.Post
	if raw != nil {
		// The raw text had no escapes: its bytes are the text.
		if len(bytes.TrimSpace(raw)) == 0 {
			return fmt.Errorf("field text: %w", ErrMissingField)
		}
		check.Text = "x"
	}
	if err := check.Validate(MaxMessageBytes); err != nil {
		return err
	}
	if len(m.ProducerTags) > hashtag.MaxTagsPerPost {
		return fmt.Errorf("field producer_hashtags: %d tags, limit %d: %w", len(m.ProducerTags), hashtag.MaxTagsPerPost, ErrTooLarge)
	}
	for i, tag := range m.ProducerTags {
		if len(tag) > hashtag.MaxTagBytes {
			return fmt.Errorf("field producer_hashtags[%d]: %d bytes, limit %d: %w", i, len(tag), hashtag.MaxTagBytes, ErrTooLarge)
		}
		if err := checkTag(tag); err != nil {
			return fmt.Errorf("field producer_hashtags[%d]: %w", i, err)
		}
	}
	for i, h := range m.Hashtags {
		if h.Tag == "" {
			return fmt.Errorf("field hashtags[%d].tag: %w", i, ErrMissingField)
		}
		if len(h.Tag) > hashtag.MaxTagBytes || len(h.Display) > hashtag.MaxTagBytes {
			return fmt.Errorf("field hashtags[%d]: tag of %d bytes or display of %d, limit %d: %w", i, len(h.Tag), len(h.Display), hashtag.MaxTagBytes, ErrTooLarge)
		}
	}
	return nil
}

// decodeStrict decodes data into p, or into m (whose Post p is) when m is
// not nil: with the fast path when it can, else with encoding/json. See
// decodeFast for rawText; the fast path uses fd's blocks and tags when fd
// is not nil (see MessageDecoder).
func decodeStrict(data []byte, p *Post, m *Message, rawText *[]byte, fd *fastDecoder) error {
	// The fast path checks UTF-8 as it reads and accepts only valid
	// input; what it leaves is checked here before encoding/json sees it
	// (which would replace invalid bytes instead of refusing them).
	trimmed := bytes.TrimSpace(data)
	isObject := len(trimmed) > 0 && trimmed[0] == '{'
	if isObject {
		if fd == nil {
			fd = &fastDecoder{}
		}
		fd.data, fd.str, fd.i = trimmed, "", 0
		if decodeFast(fd, p, m, rawText) {
			return nil
		}
	}
	var v any = p
	*p = Post{}
	if m != nil {
		*m = Message{}
		v = m
	}
	if !utf8.Valid(data) {
		return fmt.Errorf("post: %w", ErrInvalidUTF8)
	}
	if !isObject {
		return fmt.Errorf("post is not a JSON object: %w", ErrInvalidJSON)
	}
	if i := loneSurrogate(trimmed); i >= 0 {
		// encoding/json would turn it into U+FFFD: the post would not be
		// the one sent. (The fast path leaves such strings to this one.)
		return fmt.Errorf("lone UTF-16 surrogate escape %s: %w", trimmed[i:i+6], ErrInvalidUTF8)
	}
	if err := json.Unmarshal(trimmed, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var timeErr *time.ParseError
		switch {
		case errors.As(err, &typeErr):
			return fmt.Errorf("field %s: expected %s, got %s: %w", typeErr.Field, typeErr.Type, typeErr.Value, ErrWrongType)
		case errors.As(err, &timeErr):
			return fmt.Errorf("field created_at: not RFC 3339 (like %q): %w", createdAtExample, ErrInvalidValue)
		case strings.HasPrefix(err.Error(), "Time.UnmarshalJSON"):
			// time.Time refuses a number or an object with an error of no
			// type; the only time field is created_at. Epoch numbers are
			// refused, not guessed at: seconds, milliseconds and
			// microseconds all occur in exports.
			return fmt.Errorf("field created_at: expected an RFC 3339 string like %q, not a number or an object (epoch times are not accepted): %w", createdAtExample, ErrWrongType)
		}
		return fmt.Errorf("%v: %w", err, ErrInvalidJSON)
	}
	return nil
}

// loneSurrogate returns the index of the first \uXXXX escape in data that
// is half of a UTF-16 surrogate pair without its other half, or -1.
func loneSurrogate(data []byte) int {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(data) || data[i+1] != 'u' {
			return 0, false
		}
		return parseHex4(data[i+2 : i+6])
	}
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		r, ok := hex4(i)
		if !ok {
			i++ // the escaped character, which may be a backslash
			continue
		}
		switch {
		case 0xD800 <= r && r < 0xDC00:
			if r2, ok := hex4(i + 6); ok && 0xDC00 <= r2 && r2 < 0xE000 {
				i += 11
				continue
			}
			return i
		case 0xDC00 <= r && r < 0xE000:
			return i
		}
		i += 5
	}
	return -1
}

// Validate checks the required fields and the size limits.
func (p Post) Validate(maxText int) error {
	switch {
	case strings.TrimSpace(p.ID) == "":
		return fmt.Errorf("field id: %w", ErrMissingField)
	case strings.TrimSpace(p.Text) == "" && !p.Deleted:
		return fmt.Errorf("field text: %w", ErrMissingField)
	case len(p.ID) > MaxIDBytes:
		return fmt.Errorf("field id: %d bytes, limit %d: %w", len(p.ID), MaxIDBytes, ErrTooLarge)
	case len(p.Text) > maxText:
		return fmt.Errorf("field text: %d bytes, limit %d: %w", len(p.Text), maxText, ErrTooLarge)
	}
	for _, f := range [...]struct{ name, v string }{{"source", p.Source}, {"author", p.Author}, {"url", p.URL}, {"lang", p.Lang}} {
		if len(f.v) > MaxFieldBytes {
			return fmt.Errorf("field %s: %d bytes, limit %d: %w", f.name, len(f.v), MaxFieldBytes, ErrTooLarge)
		}
	}
	for i, tag := range p.Tags {
		if err := checkTag(tag); err != nil {
			return fmt.Errorf("field hashtags[%d]: %w", i, err)
		}
	}
	switch p.Visibility {
	case "", VisibilityPublic, VisibilityUnlisted, VisibilityPrivate, VisibilityDirect:
	default:
		if len(p.Visibility) > MaxFieldBytes {
			return fmt.Errorf("field visibility: %d bytes, limit %d: %w", len(p.Visibility), MaxFieldBytes, ErrTooLarge)
		}
		return fmt.Errorf("field visibility: %q is none of public, unlisted, private, direct: %w", p.Visibility, ErrInvalidValue)
	}
	return nil
}

// TagName returns a producer's tag without its leading '#' (or fullwidth
// '＃'): the spelling a message displays.
func TagName(tag string) string {
	if t, ok := strings.CutPrefix(tag, "#"); ok {
		return t
	}
	t, _ := strings.CutPrefix(tag, "\uFF03")
	return t
}

// checkTag refuses a producer's tag that no text could hold as one tag:
// empty, or with white space or control characters. Its length is bounded
// where tags are made (hashtag.MaxTagBytes), like an extracted tag's.
func checkTag(tag string) error {
	name := TagName(tag)
	if name == "" {
		return fmt.Errorf("empty tag: %w", ErrInvalidValue)
	}
	if i := strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
		return fmt.Errorf("tag %q holds white space or a control character: %w", name, ErrInvalidValue)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("tag: %w", ErrInvalidUTF8)
	}
	return nil
}

// ID builds a stable post id from a source kind and the id the source gives
// the post ("rss:https://example.org/item/1").
func ID(kind, nativeID string) string { return kind + ":" + nativeID }

// ContentID builds a stable id for a post whose source gives none, from its
// content: the same text always gets the same id.
func ContentID(kind, content string) string {
	sum := sha256.Sum256([]byte(content))
	return kind + ":" + hex.EncodeToString(sum[:16])
}
