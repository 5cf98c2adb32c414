package aggregator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/hashtag"
	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/post"
)

// partitionRange is a half-open range of offsets [from, to) of one
// partition.
type partitionRange struct {
	partition int
	from, to  int64
}

func (r partitionRange) size() int64 { return max(r.to-r.from, 0) }

// readRange reads the messages of one partition range outside any consumer
// group and hands each to fn, in offset order; maxBytes and maxWait bound
// each fetch.
func readRange(ctx context.Context, k *kafkaclient.Config, topic string, r partitionRange, maxBytes int, maxWait time.Duration, fn func(kafka.Message) error) error {
	if r.size() == 0 {
		return nil
	}
	dialer, err := k.Dialer()
	if err != nil {
		return err
	}
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers: k.Brokers, Topic: topic, Partition: r.partition, Dialer: dialer,
		MinBytes: 1, MaxBytes: maxBytes, MaxWait: maxWait,
	})
	defer reader.Close()
	if err := reader.SetOffset(r.from); err != nil {
		return fmt.Errorf("seeking %s partition %d to offset %d: %w", topic, r.partition, r.from, err)
	}
	for {
		m, err := reader.FetchMessage(ctx)
		if err != nil {
			return fmt.Errorf("reading %s partition %d: %w", topic, r.partition, err)
		}
		if m.Offset >= r.to {
			return nil
		}
		if err := fn(m); err != nil {
			return err
		}
		if m.Offset+1 >= r.to {
			return nil
		}
	}
}

// ErrBeforeRetention is returned by Replay when the range asked for reaches
// back before the oldest message a partition still holds: Kafka deleted
// the older ones at the end of the topic's retention, so what the range
// held cannot all be read again.
var ErrBeforeRetention = errors.New("range reaches back before what the topic still holds")

// ReplayOptions say what Replay re-reads. Two clocks select messages: the
// Kafka timestamp (arrival, Since and Until), which offsets can be looked
// up by, and the post's created_at (CreatedSince and CreatedUntil), which
// can only be checked by reading: a post backfilled today with a created_at
// of last week arrived today. Zero bounds are open.
type ReplayOptions struct {
	// Since and Until bound the Kafka timestamps of the messages to
	// re-read: from the first offset at or after Since to the first offset
	// at or after Until, on every partition. A zero Since reads from the
	// oldest message retained, a zero Until to the end offsets at start.
	Since, Until time.Time
	// CreatedSince and CreatedUntil keep, of the messages read, only the
	// posts whose created_at is in [CreatedSince, CreatedUntil).
	CreatedSince, CreatedUntil time.Time
	// Reextract finds each post's hashtags again from its text with the
	// current extractor (hashtag.Version) instead of using those the
	// message carries: what a rebuild after an extractor fix needs.
	Reextract bool
	// AllowTruncated replays what is left of a range that reaches back
	// before the oldest retained message instead of returning
	// ErrBeforeRetention.
	AllowTruncated bool
	// Progress, when set, is called after each batch with the messages
	// read and the messages in the range.
	Progress func(done, total int64)
}

// createdFilter reports whether the options select by created_at.
func (o ReplayOptions) createdFilter() bool {
	return !o.CreatedSince.IsZero() || !o.CreatedUntil.IsZero()
}

// keeps reports whether a post created at t is selected.
func (o ReplayOptions) keeps(t time.Time) bool {
	return (o.CreatedSince.IsZero() || !t.Before(o.CreatedSince)) && (o.CreatedUntil.IsZero() || t.Before(o.CreatedUntil))
}

// start is the earliest time a message of the range can have arrived:
// Since, or CreatedSince for a range by created_at (a post arrives after it
// is created), or zero for "from the beginning".
func (o ReplayOptions) start() time.Time {
	if !o.Since.IsZero() || !o.createdFilter() {
		return o.Since
	}
	return o.CreatedSince
}

// ReplayStats sums up a replay.
type ReplayStats struct {
	// Messages were read, Kept of them selected by created_at (all of
	// them without a created_at bound), Rows written and Poison skipped.
	Messages, Kept, Rows, Poison int64
	// RetainedSince is the arrival time of the newest first message among
	// the partitions that retention has truncated (zero when none was):
	// messages that arrived before it may be gone.
	RetainedSince time.Time
}

// Replay re-reads a range of every partition of the topic, outside the
// consumer group (whose offsets it leaves alone), and writes the rows of
// the posts it keeps again. Counts are sets of post ids, so a replay only
// adds: it restores what is missing and changes no count that was right,
// but cannot remove a wrongly counted tag (Rebuild can). Poison is counted
// and skipped: the group's pass sent it to the dead-letter topic already.
func (c *Consumer) Replay(ctx context.Context, opt ReplayOptions) (ReplayStats, error) {
	var stats ReplayStats
	if !opt.Since.IsZero() && !opt.Until.IsZero() && !opt.Until.After(opt.Since) {
		return stats, errors.New("--until must be after --since")
	}
	if !opt.CreatedSince.IsZero() && !opt.CreatedUntil.IsZero() && !opt.CreatedUntil.After(opt.CreatedSince) {
		return stats, errors.New("the end of the created_at range must be after its start")
	}
	if err := c.checkRetention(ctx, &stats, opt); err != nil {
		return stats, err
	}
	client, err := c.kafka.Client()
	if err != nil {
		return stats, err
	}
	topic := c.kafka.Topic
	parts, err := kafkaclient.Partitions(ctx, client, topic)
	if err != nil {
		return stats, err
	}
	logs, err := kafkaclient.LogOffsets(ctx, client, topic, parts)
	if err != nil {
		return stats, err
	}
	from := make(map[int]int64, len(parts))
	to := make(map[int]int64, len(parts))
	for _, p := range parts {
		from[p], to[p] = logs[p].First, logs[p].End
	}
	if !opt.Since.IsZero() {
		if from, err = kafkaclient.OffsetsForTime(ctx, client, topic, parts, opt.Since, logs); err != nil {
			return stats, err
		}
	}
	if !opt.Until.IsZero() {
		if to, err = kafkaclient.OffsetsForTime(ctx, client, topic, parts, opt.Until, logs); err != nil {
			return stats, err
		}
	}
	var ranges []partitionRange
	var total int64
	for _, p := range parts {
		r := partitionRange{partition: p, from: from[p], to: to[p]}
		ranges = append(ranges, r)
		total += r.size()
	}
	if opt.Progress != nil {
		opt.Progress(0, total)
	}
	store := c.newSink(nil, nil)
	b := newBatch()
	flush := func() error {
		if err := store.write(ctx, b); err != nil {
			return err
		}
		stats.Rows += int64(b.rows.Len())
		stats.Poison += int64(len(b.poison))
		b = newBatch()
		if opt.Progress != nil {
			opt.Progress(stats.Messages, total)
		}
		return nil
	}
	var sel selector
	for _, r := range ranges {
		err := readRange(ctx, c.kafka, topic, r, c.cfg.FetchMaxBytes, c.cfg.FetchMaxWait, func(m kafka.Message) error {
			stats.Messages++
			c.metrics.MessagesConsumed.Inc()
			m, keep := sel.sel(m, opt)
			if !keep {
				return nil
			}
			if b.add(m, c.now()) == nil {
				stats.Kept++
			}
			if b.full(c.cfg.BatchRows, c.cfg.BatchBytes) {
				return flush()
			}
			return nil
		})
		if err != nil {
			return stats, err
		}
	}
	if err := flush(); err != nil {
		return stats, err
	}
	return stats, nil
}

// checkRetention sets stats.RetainedSince and returns ErrBeforeRetention
// when the range of opt starts before it, unless opt.AllowTruncated (then
// it only logs a warning).
func (c *Consumer) checkRetention(ctx context.Context, stats *ReplayStats, opt ReplayOptions) error {
	client, err := c.kafka.Client()
	if err != nil {
		return err
	}
	topic := c.kafka.Topic
	parts, err := kafkaclient.Partitions(ctx, client, topic)
	if err != nil {
		return err
	}
	logs, err := kafkaclient.LogOffsets(ctx, client, topic, parts)
	if err != nil {
		return err
	}
	if stats.RetainedSince, err = retainedSince(ctx, client, topic, logs, c.now()); err != nil {
		return err
	}
	start := opt.start()
	if stats.RetainedSince.IsZero() || !start.Before(stats.RetainedSince) {
		return nil
	}
	err = fmt.Errorf("%w: it starts at %s, but the topic's retention has deleted its oldest messages: what is left arrived at or after %s",
		ErrBeforeRetention, timeOrBeginning(start), stats.RetainedSince.Format(time.RFC3339Nano))
	if !opt.AllowTruncated {
		return err
	}
	c.log.Warn("replaying what is left", "err", err)
	return nil
}

// selector applies a replay's created_at range and re-extraction to each
// message; its buffer is reused from message to message.
type selector struct{ buf []byte }

// sel returns the message to add to the batch and whether to add it. A
// message that does not decode is added as it is, so the batch counts it
// as poison.
func (s *selector) sel(m kafka.Message, opt ReplayOptions) (kafka.Message, bool) {
	if !opt.createdFilter() && !opt.Reextract {
		return m, true
	}
	msg, err := post.DecodeMessage(m.Value)
	if err != nil {
		return m, true
	}
	if !opt.keeps(msg.CreatedAt) {
		return m, false
	}
	if !opt.Reextract {
		return m, true
	}
	// The same extraction as ingest's (its text's tags and its producer's,
	// within the same bounds), at the current version.
	msg.Hashtags, _ = post.AppendHashtags(msg.Hashtags[:0], msg.Text, msg.ProducerTags)
	msg.ExtractorVersion = hashtag.Version
	if s.buf, err = post.AppendMessage(s.buf[:0], &msg); err != nil {
		return m, true // counted as poison, as the batch decodes it
	}
	m.Value = slices.Clone(s.buf)
	return m, true
}

// retainedSince returns the time before which messages may have been
// deleted from the topic by its retention, or zero when no partition was
// truncated (every log still starts at offset 0). On a truncated partition
// that still holds messages it is the arrival time of the first; on one
// whose every message was deleted it is now minus the topic's retention
// (Kafka deletes a segment only once its newest message is older than
// that). The newest of these times over the partitions is returned.
func retainedSince(ctx context.Context, client *kafka.Client, topic string, logs map[int]kafkaclient.PartitionOffsets, now time.Time) (time.Time, error) {
	var since time.Time
	for p, o := range logs {
		if o.First == 0 {
			continue
		}
		var t time.Time
		if o.First < o.End {
			var err error
			if t, err = kafkaclient.MessageTime(ctx, client, topic, p, o.First); err != nil {
				return time.Time{}, err
			}
		} else {
			ret, err := kafkaclient.TopicRetention(ctx, client, topic)
			if err != nil {
				return time.Time{}, err
			}
			if ret[topic] < 0 {
				continue
			}
			t = now.Add(-ret[topic])
		}
		if t.After(since) {
			since = t.UTC()
		}
	}
	return since, nil
}

func timeOrBeginning(t time.Time) string {
	if t.IsZero() {
		return "the beginning"
	}
	return t.UTC().Format(time.RFC3339)
}
