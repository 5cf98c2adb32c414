package aggregator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/kafkaclient"
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

// ReplayOptions say what Replay re-reads.
type ReplayOptions struct {
	// Since and Until bound the Kafka timestamps of the messages to
	// re-read: from the first offset at or after Since to the first offset
	// at or after Until, on every partition.
	Since, Until time.Time
	// Progress, when set, is called after each batch with the messages
	// read and the messages in the range.
	Progress func(done, total int64)
}

// ReplayStats sums up a replay.
type ReplayStats struct {
	Messages, Rows, Poison int64
}

// Replay re-reads a time range of every partition of the topic, outside the
// consumer group (whose offsets it leaves alone), and writes the rows again.
// Counts are idempotent by post id, so the rewrite changes no count that
// was right and repairs any that was not. Poison is counted and skipped: the
// group's pass sent it to the dead-letter topic already.
func (c *Consumer) Replay(ctx context.Context, opt ReplayOptions) (ReplayStats, error) {
	var stats ReplayStats
	if !opt.Until.After(opt.Since) {
		return stats, errors.New("--until must be after --since")
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
	from, err := kafkaclient.OffsetsForTime(ctx, client, topic, parts, opt.Since, logs)
	if err != nil {
		return stats, err
	}
	to, err := kafkaclient.OffsetsForTime(ctx, client, topic, parts, opt.Until, logs)
	if err != nil {
		return stats, err
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
	for _, r := range ranges {
		err := readRange(ctx, c.kafka, topic, r, c.cfg.FetchMaxBytes, c.cfg.FetchMaxWait, func(m kafka.Message) error {
			stats.Messages++
			c.metrics.MessagesConsumed.Inc()
			b.add(m, c.now())
			if b.rows.Len() >= c.cfg.BatchRows || b.bytes >= c.cfg.BatchBytes {
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
