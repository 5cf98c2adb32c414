package aggregator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/chstore"
	"tagpulse/internal/deletion"
	"tagpulse/internal/post"
)

// MaxDaysPerBatch bounds the days of created_at one batch holds, and so
// the partitions one insert touches (mentions and the rollup tables are
// partitioned by day): a batch is flushed when it reaches this many. Without it, one
// batch of posts spread over years (a backfill, or a producer's wrong dates)
// would create a part in every day's partition at once, which ClickHouse
// refuses on current releases (max_partitions_per_insert_block, 100 by
// default) and which on any release makes thousands of small parts to merge.
const MaxDaysPerBatch = 100

// rowOverhead is the memory of a row in the batch's columns beyond its
// strings' bytes: six string headers, two times and four integers.
const rowOverhead = 160

// batch collects the rows of the messages read since the last flush, the
// poison among them, and, per partition, the last message (what a commit
// after the flush names).
type batch struct {
	rows       chstore.Mentions
	posts      chstore.Posts        // one row per message with rows
	tombstones []deletion.Tombstone // the deletes among the messages
	decoder    post.MessageDecoder
	seen       tagSet
	poison     []Poison
	last       map[int]kafka.Message
	times      []stamp
	days       map[int64]struct{} // days of created_at among the rows
	hours      map[int64]struct{} // hours of created_at among the rows, marked for the rollup
	messages   int
	bytes      int
	started    time.Time
}

// stamp is the two clocks of a message, for the freshness histogram.
type stamp struct{ created, kafka time.Time }

func newBatch() *batch {
	return &batch{last: map[int]kafka.Message{}, days: map[int64]struct{}{}, hours: map[int64]struct{}{}}
}

func (b *batch) empty() bool { return b.messages == 0 }

// markedHours returns the hours of the batch's rows, for the rollup.
func (b *batch) markedHours() []time.Time {
	out := make([]time.Time, 0, len(b.hours))
	for h := range b.hours {
		out = append(out, time.Unix(h*3600, 0).UTC())
	}
	return out
}

// full says whether the batch must be flushed before it takes another
// message: it holds maxRows rows, maxBytes bytes, or MaxDaysPerBatch days.
// A message's rows share one created_at, so a batch never exceeds the
// bound on days.
func (b *batch) full(maxRows, maxBytes int) bool {
	return b.rows.Len() >= maxRows || b.bytes >= maxBytes || len(b.days) >= MaxDaysPerBatch || len(b.tombstones) >= deletion.MaxPerBatch
}

// add decodes m and adds its rows; a message that does not decode is
// returned as poison (and kept for the dead-letter topic). The message's
// offset is committed with the batch either way.
func (b *batch) add(m kafka.Message, now time.Time) *Poison {
	if b.messages == 0 {
		b.started = now
	}
	b.messages++
	b.bytes += len(m.Key) + len(m.Value)
	if prev, ok := b.last[m.Partition]; !ok || m.Offset > prev.Offset {
		b.last[m.Partition] = m
	}
	first, firstPost := b.rows.Len(), b.posts.Len()
	if err := appendMentions(&b.rows, &b.posts, &b.tombstones, &b.decoder, &b.seen, m, now); err != nil {
		p := Poison{Message: m, Reason: post.Reason(err), Err: err}
		b.poison = append(b.poison, p)
		return &p
	}
	r := &b.rows
	for i := first; i < r.Len(); i++ {
		b.bytes += rowOverhead + len(r.PostID[i]) + len(r.Account[i]) + len(r.Tag[i]) + len(r.Display[i]) + len(r.Source[i]) + len(r.Lang[i])
	}
	if p := &b.posts; p.Len() > firstPost {
		// Its strings but the id, source, lang and author, which the
		// mention rows share.
		b.bytes += rowOverhead + len(p.URL[firstPost]) + len(p.Excerpt[firstPost])
	}
	created := now
	if r.Len() > first {
		created = r.CreatedAt[first]
		b.days[created.Unix()/86400] = struct{}{}
		b.hours[created.Unix()/3600] = struct{}{}
	}
	b.times = append(b.times, stamp{created: created, kafka: m.Time})
	return nil
}

// mentions turns one Kafka message into its mention rows: one per distinct
// canonical tag. A post without hashtags has none; a message that is not a
// valid post returns an error wrapping one of post's reasons.
func mentions(m kafka.Message, now time.Time) ([]chstore.Mention, error) {
	var rows chstore.Mentions
	var decoder post.MessageDecoder
	var seen tagSet
	if err := appendMentions(&rows, nil, nil, &decoder, &seen, m, now); err != nil {
		return nil, err
	}
	out := make([]chstore.Mention, rows.Len())
	for i := range out {
		out[i] = rows.Row(i)
	}
	return out, nil
}

// appendMentions appends the mention rows of m to rows (the batch's, so
// that they are built in place), decoding it with decoder and keeping one
// row per distinct tag with seen, and, when posts is not nil and m has
// hashtags, its row of the posts table to posts. A tombstone has no rows:
// it goes to tombstones, when not nil. On error nothing is appended.
func appendMentions(rows *chstore.Mentions, posts *chstore.Posts, tombstones *[]deletion.Tombstone, decoder *post.MessageDecoder, seen *tagSet, m kafka.Message, now time.Time) error {
	// The rows need everything but the text, of which the posts table
	// keeps the start; it is checked in full, not copied.
	msg, err := decoder.DecodeWithExcerpt(m.Value, post.MaxExcerptRunes)
	if err != nil {
		return err
	}
	created := msg.CreatedAt.UTC()
	if (created.Before(chstore.MinDateTime) || created.After(chstore.MaxDateTime)) && !(msg.Deleted && msg.CreatedAt.IsZero()) {
		return fmt.Errorf("field created_at: %s outside the storable range: %w", created.Format(time.RFC3339), post.ErrInvalidValue)
	}
	if msg.Deleted {
		if tombstones != nil {
			deleted := m.Time
			if deleted.IsZero() {
				deleted = now
			}
			*tombstones = append(*tombstones, deletion.Tombstone{PostID: msg.ID, CreatedAt: msg.CreatedAt, DeletedAt: deleted})
		}
		return nil
	}
	if msg.ExtractorVersion < 0 || msg.ExtractorVersion > 1<<16-1 {
		return fmt.Errorf("field extractor_version: %d: %w", msg.ExtractorVersion, post.ErrInvalidValue)
	}
	inserted := now.UTC()
	account := msg.Author
	if !msg.AllowsIndexing() {
		// Counted, but neither its text nor its author is kept
		// (docs/ingest.md, "Consent"): its account is a pseudonym.
		account = pseudonym(msg.Author)
	}
	if posts != nil && len(msg.Hashtags) > 0 {
		p := chstore.Post{ID: msg.ID, CreatedAt: created, Source: msg.Source, Lang: msg.Lang, InsertedAt: inserted}
		if msg.AllowsIndexing() {
			p.Author, p.URL, p.Excerpt = msg.Author, msg.URL, msg.Text
		}
		posts.Append(p)
	}
	seen.reset(len(msg.Hashtags))
	for _, h := range msg.Hashtags {
		if !seen.add(h.Tag) {
			continue
		}
		display := h.Display
		if display == "" {
			display = h.Tag
		}
		rows.Append(chstore.Mention{
			PostID:           msg.ID,
			Account:          account,
			Tag:              h.Tag,
			Display:          display,
			CreatedAt:        created,
			Source:           msg.Source,
			Lang:             msg.Lang,
			ExtractorVersion: uint16(msg.ExtractorVersion),
			KafkaPartition:   int32(m.Partition),
			KafkaOffset:      m.Offset,
			InsertedAt:       inserted,
			Bot:              msg.Bot,
		})
	}
	return nil
}

// pseudonym stands for the author of a post that may not be indexed, so
// that its distinct accounts still count: a hash, not the name. Empty
// stays empty (the post then counts as its own account).
func pseudonym(author string) string {
	if author == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(author))
	return "anon:" + hex.EncodeToString(sum[:12])
}

// smallTags is the most tags of a message that tagSet compares pairwise.
// Posts carry a handful of tags, and comparing a few strings beats hashing
// them; beyond it a map keeps the cost linear (a 1 MB message of 61,818
// tags took 3.8 s compared pairwise).
const smallTags = 16

// tagSet tells the first appearance of each tag among a message's. Its
// arrays are kept from message to message.
type tagSet struct {
	few  []string            // the tags so far, when the message has at most smallTags
	many map[string]struct{} // the tags so far, beyond
	big  bool                // the message has more than smallTags tags
}

// reset starts a message of n tags.
func (s *tagSet) reset(n int) {
	s.few = s.few[:0]
	s.big = n > smallTags
	if !s.big {
		return
	}
	if s.many == nil {
		s.many = make(map[string]struct{}, n)
	}
	clear(s.many)
}

// add reports whether tag is new in the message, and records it.
func (s *tagSet) add(tag string) bool {
	if s.big {
		if _, ok := s.many[tag]; ok {
			return false
		}
		s.many[tag] = struct{}{}
		return true
	}
	for _, t := range s.few {
		if t == tag {
			return false
		}
	}
	s.few = append(s.few, tag)
	return true
}
