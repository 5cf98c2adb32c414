package aggregator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/post"
)

// ErrStillPoison is returned by ReplayDLQ when dead letters in the range it
// read still do not decode and were neither forced nor skipped: they stay
// where the next run will read them again.
var ErrStillPoison = errors.New("dead letters still poison")

// DLQReplayOptions say how `aggregate dlq replay` re-feeds the dead-letter
// topic.
type DLQReplayOptions struct {
	// Group records how far the dead-letter topic has been re-fed, so a
	// second run re-feeds only what arrived since.
	Group string
	// FromBeginning ignores the recorded progress and reads the whole
	// dead-letter topic again.
	FromBeginning bool
	// Force re-feeds messages that still do not decode; the consumer then
	// sends them back to the dead-letter topic, with its reason.
	Force bool
	// SkipPoison records progress past the messages that still do not
	// decode, once someone has looked at them (`aggregate dlq list`) and
	// decided they are beyond repair or re-published by other means.
	// Without it they stay in the range the next run reads.
	SkipPoison bool
	// DryRun reads and counts without writing or recording progress.
	DryRun bool
}

// DLQReplayStats sums up a DLQ replay.
type DLQReplayStats struct {
	Read, Refed, StillPoison int64
	// Reasons counts the still-poison messages by reason.
	Reasons map[string]int64
}

// ReasonSummary lists Reasons as "missing_field=2, invalid_json=1", most
// frequent first.
func (s DLQReplayStats) ReasonSummary() string {
	type rc struct {
		reason string
		n      int64
	}
	var list []rc
	for r, n := range s.Reasons {
		list = append(list, rc{r, n})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].reason < list[j].reason
	})
	parts := make([]string, len(list))
	for i, x := range list {
		parts[i] = x.reason + "=" + strconv.FormatInt(x.n, 10)
	}
	return strings.Join(parts, ", ")
}

// ReplayDLQ puts the messages of the dead-letter topic back on the posts
// topic, with their original key and value, once the cause that made them
// poison is fixed. It reads up to the end offsets seen at start and
// records its progress as the standalone consumer group opt.Group, after
// the re-fed messages are acknowledged.
//
// A message that still does not decode is not re-fed (unless opt.Force)
// and progress on its partition is recorded only up to it (unless
// opt.SkipPoison), so the next run reads it again; ReplayDLQ then returns
// the stats with an error wrapping ErrStillPoison. The messages after it
// that did decode are re-fed now and again by the next run, which changes
// no count: counts are sets of post ids.
func ReplayDLQ(ctx context.Context, k *kafkaclient.Config, opt DLQReplayOptions, log *slog.Logger) (DLQReplayStats, error) {
	stats := DLQReplayStats{Reasons: map[string]int64{}}
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
		resume := r.to // where the next run starts on this partition
		err := readRange(ctx, k, dlqTopic, r, 1<<20, Defaults().FetchMaxWait, func(m kafka.Message) error {
			stats.Read++
			// The same check the consumer makes, so what is re-fed will
			// not come straight back.
			if _, err := mentions(m, time.Now()); err != nil && !opt.Force {
				reason := post.Reason(err)
				stats.StillPoison++
				stats.Reasons[reason]++
				if !opt.SkipPoison {
					resume = min(resume, m.Offset)
				}
				log.Warn("still poison, not re-fed", "partition", m.Partition, "offset", m.Offset, "reason", reason, "err", err,
					"original", header(m, HeaderTopic)+"/"+header(m, HeaderPartition)+"/"+header(m, HeaderOffset))
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
		if err := kafkaclient.CommitOffsets(ctx, client, dlqTopic, opt.Group, map[int]int64{p: resume}); err != nil {
			return stats, err
		}
	}
	if stats.StillPoison > 0 && !opt.SkipPoison {
		return stats, fmt.Errorf("%d %w (%s); the next run reads them again: list them with `aggregate dlq list`, "+
			"re-publish them fixed (docs/operations.md), then pass --skip-poison to move past them", stats.StillPoison, ErrStillPoison, stats.ReasonSummary())
	}
	return stats, nil
}
