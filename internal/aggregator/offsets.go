package aggregator

import (
	"context"
	"fmt"
	"sort"
	"tagpulse/internal/kafkaclient"
	"time"

	"github.com/segmentio/kafka-go"
)

// partitionOffsets is what the broker knows of one partition: its first
// offset, its high-water mark (end) and the group's committed offset (-1
// when the group has committed none).
type partitionOffsets struct {
	first, end, committed int64
}

// position is where the group resumes on the partition: its committed
// offset, or the first offset when it has none (the reader starts at the
// first offset).
func (o partitionOffsets) position() int64 {
	if o.committed < o.first {
		return o.first
	}
	return o.committed
}

// lag is the number of messages the group has not yet committed.
func (o partitionOffsets) lag() int64 {
	if l := o.end - o.position(); l > 0 {
		return l
	}
	return 0
}

// topicPartitions lists the partitions of topic.
func topicPartitions(ctx context.Context, client *kafka.Client, topic string) ([]int, error) {
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("reading metadata of topic %s: %w", topic, err)
	}
	for _, t := range meta.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("reading metadata of topic %s: %w", topic, t.Error)
		}
		parts := make([]int, 0, len(t.Partitions))
		for _, p := range t.Partitions {
			parts = append(parts, p.ID)
		}
		sort.Ints(parts)
		return parts, nil
	}
	return nil, fmt.Errorf("topic %s: not in the cluster's metadata", topic)
}

// logOffsets returns the first and end offsets of each partition.
func logOffsets(ctx context.Context, client *kafka.Client, topic string, parts []int) (map[int]partitionOffsets, error) {
	req := make([]kafka.OffsetRequest, 0, 2*len(parts))
	for _, p := range parts {
		req = append(req, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: req}})
	if err != nil {
		return nil, fmt.Errorf("listing offsets of %s: %w", topic, err)
	}
	out := make(map[int]partitionOffsets, len(parts))
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("listing offsets of %s partition %d: %w", topic, po.Partition, po.Error)
		}
		out[po.Partition] = partitionOffsets{first: po.FirstOffset, end: po.LastOffset, committed: -1}
	}
	if len(out) != len(parts) {
		return nil, fmt.Errorf("listing offsets of %s: %d of %d partitions answered", topic, len(out), len(parts))
	}
	return out, nil
}

// groupOffsets adds the group's committed offsets to logOffsets.
func groupOffsets(ctx context.Context, client *kafka.Client, topic, group string, parts []int) (map[int]partitionOffsets, error) {
	out, err := logOffsets(ctx, client, topic, parts)
	if err != nil {
		return nil, err
	}
	committed, err := kafkaclient.CommittedOffsets(ctx, client, topic, group, parts)
	if err != nil {
		return nil, err
	}
	for p, c := range committed {
		o := out[p]
		o.committed = c
		out[p] = o
	}
	return out, nil
}

// commitOffsets commits offsets for group outside any group generation, as
// a standalone consumer does (used by replays that track their progress
// without joining the group).
func commitOffsets(ctx context.Context, client *kafka.Client, topic, group string, offsets map[int]int64) error {
	var commits []kafka.OffsetCommit
	for p, o := range offsets {
		commits = append(commits, kafka.OffsetCommit{Partition: p, Offset: o})
	}
	resp, err := client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{
		GroupID: group, GenerationID: -1, Topics: map[string][]kafka.OffsetCommit{topic: commits},
	})
	if err != nil {
		return fmt.Errorf("committing offsets of group %s on %s: %w", group, topic, err)
	}
	for _, ps := range resp.Topics[topic] {
		if ps.Error != nil {
			return fmt.Errorf("committing offset of group %s on %s partition %d: %w", group, topic, ps.Partition, ps.Error)
		}
	}
	return nil
}

// messageTime returns the Kafka timestamp of the message at offset.
func messageTime(ctx context.Context, client *kafka.Client, topic string, partition int, offset int64) (time.Time, error) {
	resp, err := client.Fetch(ctx, &kafka.FetchRequest{
		Topic: topic, Partition: partition, Offset: offset,
		MinBytes: 1, MaxBytes: 64 << 10, MaxWait: 100 * time.Millisecond,
	})
	if err == nil {
		err = resp.Error
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("fetching %s partition %d offset %d: %w", topic, partition, offset, err)
	}
	for {
		rec, err := resp.Records.ReadRecord()
		if err != nil {
			return time.Time{}, fmt.Errorf("reading %s partition %d offset %d: %w", topic, partition, offset, err)
		}
		if rec.Offset >= offset {
			return rec.Time, nil
		}
	}
}

// offsetsForTime returns, per partition, the first offset whose timestamp
// is at or after t, or the end offset when there is none.
func offsetsForTime(ctx context.Context, client *kafka.Client, topic string, parts []int, t time.Time, logs map[int]partitionOffsets) (map[int]int64, error) {
	req := make([]kafka.OffsetRequest, 0, len(parts))
	for _, p := range parts {
		req = append(req, kafka.TimeOffsetOf(p, t))
	}
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: req}})
	if err != nil {
		return nil, fmt.Errorf("looking up offsets of %s at %s: %w", topic, t.Format(time.RFC3339), err)
	}
	out := make(map[int]int64, len(parts))
	for _, p := range parts {
		out[p] = logs[p].end
	}
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("looking up offset of %s partition %d at %s: %w", topic, po.Partition, t.Format(time.RFC3339), po.Error)
		}
		for off := range po.Offsets {
			if off >= 0 && off < out[po.Partition] {
				out[po.Partition] = off
			}
		}
	}
	return out, nil
}
