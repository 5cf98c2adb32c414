package kafkaclient_test

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/testkit/stacktest"
)

// TestTopicsCreatedWithRetention creates the posts topic and its
// dead-letter topic and reads their retention back from the broker: each
// has the one it was configured with, and a zero retention leaves the
// broker's default (which is not the one asked of the other topic).
func TestTopicsCreatedWithRetention(t *testing.T) {
	base := stacktest.Kafka(t, 1)
	tests := []struct {
		name               string
		retention, dlq     time.Duration
		wantPosts, wantDLQ time.Duration // 0: whatever the broker's default is
	}{
		{"defaults", kafkaclient.DefaultRetention, kafkaclient.DefaultDLQRetention, 7 * 24 * time.Hour, 30 * 24 * time.Hour},
		{"custom", 90 * time.Minute, 49 * time.Hour, 90 * time.Minute, 49 * time.Hour},
		{"broker default", 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := *base
			cfg.Topic = stacktest.UniqueName("test_retention")
			cfg.Retention, cfg.DLQRetention = tt.retention, tt.dlq
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
			got, err := kafkaclient.TopicRetention(ctx, client, cfg.Topic, cfg.DLQTopic())
			if err != nil {
				t.Fatalf("reading retention: %v", err)
			}
			if tt.wantPosts == 0 {
				if got[cfg.Topic] == 0 || got[cfg.Topic] != got[cfg.DLQTopic()] {
					t.Errorf("retention with none set: posts %s, dlq %s; want the broker's default on both", got[cfg.Topic], got[cfg.DLQTopic()])
				}
				return
			}
			if got[cfg.Topic] != tt.wantPosts || got[cfg.DLQTopic()] != tt.wantDLQ {
				t.Errorf("retention: posts %s, dlq %s; want %s and %s", got[cfg.Topic], got[cfg.DLQTopic()], tt.wantPosts, tt.wantDLQ)
			}
		})
	}
}
