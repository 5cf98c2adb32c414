package aggregator

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/post"
)

// DeadLetter is one message of the dead-letter topic with what its headers
// say: where the original was and why it was refused.
type DeadLetter struct {
	Partition int       `json:"partition"`
	Offset    int64     `json:"offset"`
	Time      time.Time `json:"time"`
	Key       string    `json:"key"`
	// Reason is one of post's reasons (invalid_json, missing_field, …)
	// and Error the consumer's error text, bounded to 512 bytes.
	Reason            string `json:"reason"`
	Error             string `json:"error"`
	OriginalTopic     string `json:"original_topic"`
	OriginalPartition int    `json:"original_partition"`
	OriginalOffset    int64  `json:"original_offset"`
	// Value is the message as the producer wrote it, as text; ValueBase64
	// holds it instead when it is not valid UTF-8.
	Value       string `json:"value,omitempty"`
	ValueBase64 []byte `json:"value_base64,omitempty"`
	// Post holds, when the value is a JSON object, only its post fields
	// (id, text, created_at, source, author, url, lang) as they were:
	// one line of `ingest file` input once fixed.
	Post json.RawMessage `json:"post,omitempty"`
}

// postFields are the JSON names of post.Post's fields, what `ingest file`
// reads.
var postFields = func() map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeFor[post.Post]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[name] = true
	}
	return out
}()

// deadLetter reads the headers and value of a dead-letter message.
func deadLetter(m kafka.Message) DeadLetter {
	d := DeadLetter{
		Partition: m.Partition, Offset: m.Offset, Time: m.Time.UTC(), Key: string(m.Key),
		Reason: header(m, HeaderReason), Error: header(m, HeaderError), OriginalTopic: header(m, HeaderTopic),
		OriginalPartition: -1, OriginalOffset: -1,
	}
	if p, err := strconv.Atoi(header(m, HeaderPartition)); err == nil {
		d.OriginalPartition = p
	}
	if o, err := strconv.ParseInt(header(m, HeaderOffset), 10, 64); err == nil {
		d.OriginalOffset = o
	}
	if utf8.Valid(m.Value) {
		d.Value = string(m.Value)
	} else {
		d.ValueBase64 = m.Value
	}
	d.Post = postPart(m.Value)
	return d
}

// postPart returns the post fields of a JSON object value, compacted, or
// nil when the value is not a JSON object. A message's "hashtags" are the
// tags ingest extracted (objects), not a post's: they are dropped, and the
// tags its producer gave ("producer_hashtags") become the post's
// "hashtags" again, as `ingest file` reads them.
func postPart(value []byte) json.RawMessage {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(value, &obj); err != nil || obj == nil {
		return nil
	}
	producer, hasProducer := obj["producer_hashtags"]
	delete(obj, "hashtags")
	for k := range obj {
		if !postFields[k] {
			delete(obj, k)
		}
	}
	if hasProducer {
		obj["hashtags"] = producer
	}
	out, err := json.Marshal(obj) // compacts the values, keys in order
	if err != nil {
		return nil
	}
	return out
}

// ListDLQ reads the whole dead-letter topic, as far as its end offsets at
// start, and hands each message to fn in partition and offset order. It
// records no progress and writes nothing.
func ListDLQ(ctx context.Context, k *kafkaclient.Config, fn func(DeadLetter) error) error {
	dlqTopic := k.DLQTopic()
	client, err := k.Client()
	if err != nil {
		return err
	}
	parts, err := kafkaclient.Partitions(ctx, client, dlqTopic)
	if err != nil {
		return err
	}
	logs, err := kafkaclient.LogOffsets(ctx, client, dlqTopic, parts)
	if err != nil {
		return err
	}
	for _, p := range parts {
		r := partitionRange{partition: p, from: logs[p].First, to: logs[p].End}
		if err := readRange(ctx, k, dlqTopic, r, 1<<20, Defaults().FetchMaxWait, func(m kafka.Message) error {
			return fn(deadLetter(m))
		}); err != nil {
			return err
		}
	}
	return nil
}
