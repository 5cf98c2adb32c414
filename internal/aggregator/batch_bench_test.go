package aggregator

import (
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/corpus"
)

// Micro-benchmark of batch building: decoding each Kafka message of the
// benchmark corpus and turning it into mention rows, as the consumer loop
// does between fetch and insert (make bench; compare with benchstat):
//
//	go test -run '^$' -bench BatchAdd -benchmem -count 5 ./internal/aggregator/
//
// One operation adds one message; batches are flushed (dropped) at the
// default row limit and the next reuses their arrays, so memory stays what
// the consumer holds.
func BenchmarkBatchAdd(b *testing.B) {
	values := corpus.SampleMessages(5000, 2025)
	msgs := make([]kafka.Message, len(values))
	var bytes int
	for i, v := range values {
		msgs[i] = kafka.Message{Partition: i % 6, Offset: int64(i), Value: v, Time: time.Now()}
		bytes += len(v)
	}
	rowsLimit := Defaults().BatchRows
	now := time.Now()
	b.SetBytes(int64(bytes / len(msgs)))
	b.ReportAllocs()
	bt := newBatch()
	i := 0
	for b.Loop() {
		if p := bt.add(msgs[i%len(msgs)], now); p != nil {
			b.Fatal(p.Err)
		}
		if bt.rows.Len() >= rowsLimit {
			// As the flusher does: the next batch reuses the arrays.
			rows, posts := bt.rows, bt.posts
			rows.Reset()
			posts.Reset()
			bt = newBatch()
			bt.rows, bt.posts = rows, posts
		}
		i++
	}
}
