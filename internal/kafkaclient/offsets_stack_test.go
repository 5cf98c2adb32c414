package kafkaclient_test

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/testkit/stacktest"
)

// TestNewTopicAnswersOffsetQueriesAtOnce creates topics and asks for their
// offsets straight away, as `aggregate run --until-caught-up` does on a
// topic that does not exist: EnsureTopics must return only once every
// partition has a leader, or ListOffsets fails with "Not Leader For
// Partition". A commit outside the group then reads back as the group's
// offset.
func TestNewTopicAnswersOffsetQueriesAtOnce(t *testing.T) {
	base := stacktest.Kafka(t, 1)
	for i := range 3 {
		cfg := *base
		cfg.Topic = stacktest.UniqueName("test_new_topic")
		cfg.Partitions = 6
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		client, err := cfg.Client()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_, _ = client.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: []string{cfg.Topic, cfg.DLQTopic()}})
		})
		if err := cfg.EnsureTopics(ctx, cfg.Topic, cfg.DLQTopic()); err != nil {
			t.Fatalf("creating topics: %v", err)
		}
		for _, topic := range []string{cfg.Topic, cfg.DLQTopic()} {
			parts, err := kafkaclient.Partitions(ctx, client, topic)
			if err != nil || len(parts) != 6 {
				t.Fatalf("round %d: partitions of %s: %v, %v; want 6", i, topic, parts, err)
			}
			offsets, err := kafkaclient.LogOffsets(ctx, client, topic, parts)
			if err != nil {
				t.Fatalf("round %d: offsets of %s right after creating it: %v", i, topic, err)
			}
			if o := offsets[0]; o.First != 0 || o.End != 0 || o.Lag() != 0 {
				t.Errorf("round %d: offsets of an empty partition = %+v", i, o)
			}
		}
		if i > 0 {
			continue
		}
		group := cfg.Topic + "-group"
		if err := kafkaclient.CommitOffsets(ctx, client, cfg.Topic, group, map[int]int64{2: 0}); err != nil {
			t.Fatalf("committing outside the group: %v", err)
		}
		got, err := kafkaclient.GroupOffsets(ctx, client, cfg.Topic, group, []int{1, 2})
		if err != nil {
			t.Fatalf("reading the group's offsets: %v", err)
		}
		if got[2].Committed != 0 || got[1].Committed != -1 || got[1].Position() != 0 {
			t.Errorf("group offsets = %+v, want partition 2 committed at 0 and partition 1 not at all", got)
		}
	}
}
