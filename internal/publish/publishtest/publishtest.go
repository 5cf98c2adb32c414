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
	Offset    int64
	Value     post.Message
	// Raw is the value as Kafka holds it.
	Raw []byte
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
	parts, err := kafkaclient.Partitions(ctx, client, cfg.Topic)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := kafkaclient.LogOffsets(ctx, client, cfg.Topic, parts)
	if err != nil {
		t.Fatal(err)
	}
	dialer, err := cfg.Dialer()
	if err != nil {
		t.Fatal(err)
	}
	var out []Message
	for _, p := range parts {
		if logs[p].End <= 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Brokers, Topic: cfg.Topic, Partition: p, Dialer: dialer, MaxWait: 500 * time.Millisecond})
		for {
			m, err := r.ReadMessage(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				t.Fatalf("reading %s/%d: %v", cfg.Topic, p, err)
			}
			v, err := post.DecodeMessage(m.Value)
			if err != nil {
				r.Close()
				t.Fatalf("message %s/%d@%d does not decode: %v", cfg.Topic, m.Partition, m.Offset, err)
			}
			out = append(out, Message{Key: string(m.Key), Partition: m.Partition, Offset: m.Offset, Value: v, Raw: m.Value})
			if m.Offset+1 >= logs[p].End {
				break
			}
		}
		r.Close()
	}
	return out
}
