package kafkaclient

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/retry"
)

// This file holds every admin and offset query of tagpulse: partitions
// (Metadata), log and group offsets (ListOffsets, OffsetFetch), commits
// outside a group generation (OffsetCommit) and the time of one message
// (Fetch). Topic creation is EnsureTopics.

// PartitionOffsets is what the broker knows of one partition: its first
// offset, its high-water mark (End) and the group's committed offset (-1
// when the group has committed none, or when only LogOffsets was asked).
type PartitionOffsets struct {
	First, End, Committed int64
}

// Position is where the group resumes on the partition: its committed
// offset, or the first offset when it has none (a reader then starts at
// the first offset).
func (o PartitionOffsets) Position() int64 {
	if o.Committed < o.First {
		return o.First
	}
	return o.Committed
}

// Lag is the number of messages the group has not yet committed.
func (o PartitionOffsets) Lag() int64 {
	if l := o.End - o.Position(); l > 0 {
		return l
	}
	return 0
}

// Partitions lists the partitions of topic, in order.
func Partitions(ctx context.Context, client *kafka.Client, topic string) ([]int, error) {
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

// LogOffsets returns the first and end offsets of each partition.
func LogOffsets(ctx context.Context, client *kafka.Client, topic string, parts []int) (map[int]PartitionOffsets, error) {
	req := make([]kafka.OffsetRequest, 0, 2*len(parts))
	for _, p := range parts {
		req = append(req, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: req}})
	if err != nil {
		return nil, fmt.Errorf("listing offsets of %s: %w", topic, err)
	}
	out := make(map[int]PartitionOffsets, len(parts))
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("listing offsets of %s partition %d: %w", topic, po.Partition, po.Error)
		}
		out[po.Partition] = PartitionOffsets{First: po.FirstOffset, End: po.LastOffset, Committed: -1}
	}
	if len(out) != len(parts) {
		return nil, fmt.Errorf("listing offsets of %s: %d of %d partitions answered", topic, len(out), len(parts))
	}
	return out, nil
}

// coordinatorRetry retries a group's offset request while the group has no
// coordinator ready: right after a group is first used, or a broker starts
// or moves the group, Kafka answers NOT_COORDINATOR,
// COORDINATOR_NOT_AVAILABLE or COORDINATOR_LOAD_IN_PROGRESS for a moment
// (seen on a fresh broker in CI). Other errors are returned at once.
var coordinatorRetry = retry.Policy{
	Backoff:   retry.Backoff{Min: 50 * time.Millisecond, Max: time.Second},
	Attempts:  12,
	Retryable: isCoordinatorError,
}

// isCoordinatorError says whether err is one of the transient errors of a
// group coordinator that is not ready.
func isCoordinatorError(err error) bool {
	return errors.Is(err, kafka.NotCoordinatorForGroup) ||
		errors.Is(err, kafka.GroupCoordinatorNotAvailable) ||
		errors.Is(err, kafka.GroupLoadInProgress)
}

// CommittedOffsets returns the group's committed offset per partition (-1
// for none). It waits out a group coordinator that is not ready yet.
func CommittedOffsets(ctx context.Context, client *kafka.Client, topic, group string, parts []int) (map[int]int64, error) {
	var resp *kafka.OffsetFetchResponse
	err := coordinatorRetry.Do(ctx, func(ctx context.Context) error {
		var err error
		resp, err = client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
		if err == nil {
			err = resp.Error
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fetching committed offsets of group %s on %s: %w", group, topic, err)
	}
	out := make(map[int]int64, len(parts))
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("fetching committed offset of group %s on %s partition %d: %w", group, topic, p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out, nil
}

// GroupOffsets adds the group's committed offsets to LogOffsets.
func GroupOffsets(ctx context.Context, client *kafka.Client, topic, group string, parts []int) (map[int]PartitionOffsets, error) {
	out, err := LogOffsets(ctx, client, topic, parts)
	if err != nil {
		return nil, err
	}
	committed, err := CommittedOffsets(ctx, client, topic, group, parts)
	if err != nil {
		return nil, err
	}
	for p, c := range committed {
		o := out[p]
		o.Committed = c
		out[p] = o
	}
	return out, nil
}

// CommitOffsets commits offsets for group outside any group generation, as
// a standalone consumer does (used by replays that track their progress
// without joining the group).
func CommitOffsets(ctx context.Context, client *kafka.Client, topic, group string, offsets map[int]int64) error {
	var commits []kafka.OffsetCommit
	for p, o := range offsets {
		commits = append(commits, kafka.OffsetCommit{Partition: p, Offset: o})
	}
	var resp *kafka.OffsetCommitResponse
	err := coordinatorRetry.Do(ctx, func(ctx context.Context) error {
		var err error
		resp, err = client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{
			GroupID: group, GenerationID: -1, Topics: map[string][]kafka.OffsetCommit{topic: commits},
		})
		if err == nil {
			for _, ps := range resp.Topics[topic] {
				if isCoordinatorError(ps.Error) {
					return ps.Error
				}
			}
		}
		return err
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

// MessageTime returns the Kafka timestamp of the message at offset.
func MessageTime(ctx context.Context, client *kafka.Client, topic string, partition int, offset int64) (time.Time, error) {
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

// OffsetsForTime returns, per partition, the first offset whose timestamp
// is at or after t, or the end offset (from logs) when there is none.
func OffsetsForTime(ctx context.Context, client *kafka.Client, topic string, parts []int, t time.Time, logs map[int]PartitionOffsets) (map[int]int64, error) {
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
		out[p] = logs[p].End
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
