// Package publishtest reads back what ingest published, for integration
// tests against the real Kafka of the local stack: every message of a topic
// up to its end as it is when the read starts.
package publishtest

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/post"
)

// Message is a Kafka message decoded as ingest wrote it.
type Message struct {
	Key       string
	Partition int
	Value     post.Message
}

// ReadAll returns every message of cfg.Topic, partition by partition, up to
// each partition's high-water mark at the time of the call. It fails the
// test when a value does not decode.
func ReadAll(t testing.TB, cfg *kafkaclient.Config) []Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := cfg.Client()
	if err != nil {
		t.Fatal(err)
	}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{cfg.Topic}})
	if err != nil || len(meta.Topics) != 1 {
		t.Fatalf("metadata of %s: %v", cfg.Topic, err)
	}
	var reqs []kafka.OffsetRequest
	for _, p := range meta.Topics[0].Partitions {
		reqs = append(reqs, kafka.LastOffsetOf(p.ID))
	}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{cfg.Topic: reqs}})
	if err != nil {
		t.Fatalf("offsets of %s: %v", cfg.Topic, err)
	}
	dialer, err := cfg.Dialer()
	if err != nil {
		t.Fatal(err)
	}
	var out []Message
	for _, po := range offs.Topics[cfg.Topic] {
		if po.Error != nil {
			t.Fatalf("offsets of %s/%d: %v", cfg.Topic, po.Partition, po.Error)
		}
		if po.LastOffset <= 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Brokers, Topic: cfg.Topic, Partition: po.Partition, Dialer: dialer, MaxWait: 500 * time.Millisecond})
		for {
			m, err := r.ReadMessage(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				t.Fatalf("reading %s/%d: %v", cfg.Topic, po.Partition, err)
			}
			v, err := post.DecodeMessage(m.Value)
			if err != nil {
				r.Close()
				t.Fatalf("message %s/%d@%d does not decode: %v", cfg.Topic, m.Partition, m.Offset, err)
			}
			out = append(out, Message{Key: string(m.Key), Partition: m.Partition, Value: v})
			if m.Offset+1 >= po.LastOffset {
				break
			}
		}
		r.Close()
	}
	return out
}
