package aggregator

import (
	"context"
	"fmt"
	"strconv"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/kafkaclient"
)

// Headers of a dead-letter message: where the original came from and why
// it was refused. The key and value are the original's, unchanged.
const (
	HeaderTopic     = "tagpulse-original-topic"
	HeaderPartition = "tagpulse-original-partition"
	HeaderOffset    = "tagpulse-original-offset"
	HeaderReason    = "tagpulse-reason"
	HeaderError     = "tagpulse-error"
	// HeaderReplayedFrom marks a message that `aggregate dlq replay` put
	// back on the posts topic: "<dlq topic>/<partition>/<offset>".
	HeaderReplayedFrom = "tagpulse-replayed-from"
)

// maxErrorHeader bounds the error text carried in a header.
const maxErrorHeader = 512

func newWriter(cfg *kafkaclient.Config, topic string) (*kafka.Writer, error) {
	tr, err := cfg.Transport()
	if err != nil {
		return nil, err
	}
	return &kafka.Writer{
		Addr:                   kafka.TCP(cfg.Brokers...),
		Topic:                  topic,
		Transport:              tr,
		Balancer:               &kafka.Hash{},
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           5e6, // 5 ms: writes here are whole batches already
		AllowAutoTopicCreation: false,
	}, nil
}

// dlqMessage builds the dead-letter copy of a poison message.
func dlqMessage(p Poison) kafka.Message {
	errText := p.Err.Error()
	if len(errText) > maxErrorHeader {
		errText = errText[:maxErrorHeader]
	}
	return kafka.Message{
		Key:   p.Message.Key,
		Value: p.Message.Value,
		Headers: []kafka.Header{
			{Key: HeaderTopic, Value: []byte(p.Message.Topic)},
			{Key: HeaderPartition, Value: []byte(strconv.Itoa(p.Message.Partition))},
			{Key: HeaderOffset, Value: []byte(strconv.FormatInt(p.Message.Offset, 10))},
			{Key: HeaderReason, Value: []byte(p.Reason)},
			{Key: HeaderError, Value: []byte(errText)},
		},
	}
}

// sendDLQ writes the poison of a batch to the dead-letter topic and waits
// for the brokers' acknowledgement.
func sendDLQ(ctx context.Context, w *kafka.Writer, poison []Poison) error {
	msgs := make([]kafka.Message, len(poison))
	for i, p := range poison {
		msgs[i] = dlqMessage(p)
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("writing %d messages to dead-letter topic %s: %w", len(msgs), w.Topic, err)
	}
	return nil
}

// header returns the value of the header named key.
func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
