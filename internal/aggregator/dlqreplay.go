package aggregator

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/post"
)

// DLQReplayOptions say how `aggregate dlq replay` re-feeds the dead-letter
// topic.
type DLQReplayOptions struct {
	// Group records how far the dead-letter topic has been re-fed, so a
	// second run re-feeds only what arrived since.
	Group string
	// FromBeginning ignores the recorded progress and reads the whole
	// dead-letter topic again.
	FromBeginning bool
	// Force re-feeds messages that still do not decode; by default they
	// are passed over (and counted), since the consumer would only send
	// them back.
	Force bool
	// DryRun reads and counts without writing or recording progress.
	DryRun bool
}

// DLQReplayStats sums up a DLQ replay.
type DLQReplayStats struct {
	Read, Refed, StillPoison int64
}

// ReplayDLQ puts the messages of the dead-letter topic back on the posts
// topic, with their original key and value, once the cause that made them
// poison is fixed. It reads up to the end offsets seen at start and
// records its progress as the standalone consumer group opt.Group, after
// the re-fed messages are acknowledged.
func ReplayDLQ(ctx context.Context, k *kafkaclient.Config, opt DLQReplayOptions, log *slog.Logger) (DLQReplayStats, error) {
	var stats DLQReplayStats
	dlqTopic := k.DLQTopic()
	client, err := k.Client()
	if err != nil {
		return stats, err
	}
	parts, err := kafkaclient.Partitions(ctx, client, dlqTopic)
	if err != nil {
		return stats, err
	}
	offsets, err := kafkaclient.GroupOffsets(ctx, client, dlqTopic, opt.Group, parts)
	if err != nil {
		return stats, err
	}
	w, err := newWriter(k, k.Topic)
	if err != nil {
		return stats, err
	}
	defer w.Close()

	for _, p := range parts {
		o := offsets[p]
		r := partitionRange{partition: p, from: o.Position(), to: o.End}
		if opt.FromBeginning {
			r.from = o.First
		}
		var out []kafka.Message
		err := readRange(ctx, k, dlqTopic, r, 1<<20, Defaults().FetchMaxWait, func(m kafka.Message) error {
			stats.Read++
			// The same check the consumer makes, so what is re-fed will
			// not come straight back.
			if _, err := mentions(m, time.Now()); err != nil && !opt.Force {
				stats.StillPoison++
				log.Warn("still poison, passed over", "partition", m.Partition, "offset", m.Offset, "reason", post.Reason(err))
				return nil
			}
			out = append(out, kafka.Message{
				Key: m.Key, Value: m.Value,
				Headers: []kafka.Header{{Key: HeaderReplayedFrom, Value: []byte(dlqTopic + "/" + strconv.Itoa(m.Partition) + "/" + strconv.FormatInt(m.Offset, 10))}},
			})
			return nil
		})
		if err != nil {
			return stats, err
		}
		if opt.DryRun || r.size() == 0 {
			stats.Refed += int64(len(out))
			continue
		}
		if len(out) > 0 {
			if err := w.WriteMessages(ctx, out...); err != nil {
				return stats, fmt.Errorf("re-feeding %d messages of %s partition %d to %s: %w", len(out), dlqTopic, p, k.Topic, err)
			}
		}
		stats.Refed += int64(len(out))
		if err := kafkaclient.CommitOffsets(ctx, client, dlqTopic, opt.Group, map[int]int64{p: r.to}); err != nil {
			return stats, err
		}
	}
	return stats, nil
}
