package post_test

import (
	"encoding/json"
	"testing"

	"tagpulse/internal/corpus"
	"tagpulse/internal/post"
)

// Micro-benchmarks of the message codec, on the values ingest publishes for
// the benchmark corpus (make bench; compare runs with benchstat):
//
//	go test -run '^$' -bench . -benchmem -count 5 ./internal/post/
//
// One operation handles one message; MB/s counts the bytes of the value.

var sample = corpus.SampleMessages(2000, 2025)

func sampleBytes() int64 {
	var n int
	for _, v := range sample {
		n += len(v)
	}
	return int64(n / len(sample))
}

// BenchmarkDecodeMessage decodes with the text, without it, and as
// aggregate does (a MessageDecoder).
func BenchmarkDecodeMessage(b *testing.B) {
	var md post.MessageDecoder
	for _, d := range []struct {
		name   string
		decode func([]byte) (post.Message, error)
	}{{"full", post.DecodeMessage}, {"WithoutText", post.DecodeMessageWithoutText}, {"MessageDecoder", md.DecodeWithoutText}} {
		b.Run(d.name, func(b *testing.B) {
			b.SetBytes(sampleBytes())
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := d.decode(sample[i%len(sample)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkEncodeMessage compares AppendMessage, what publish uses, with
// json.Marshal, which writes the same bytes.
func BenchmarkEncodeMessage(b *testing.B) {
	msgs := make([]post.Message, len(sample))
	for i, v := range sample {
		m, err := post.DecodeMessage(v)
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = m
	}
	b.Run("json.Marshal", func(b *testing.B) {
		b.SetBytes(sampleBytes())
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := json.Marshal(&msgs[i%len(msgs)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("AppendMessage", func(b *testing.B) {
		b.SetBytes(sampleBytes())
		b.ReportAllocs()
		var buf []byte
		i := 0
		for b.Loop() {
			var err error
			if buf, err = post.AppendMessage(buf[:0], &msgs[i%len(msgs)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkDecodePost(b *testing.B) {
	// The posts of JSONL files: the messages without their hashtags.
	posts := make([][]byte, len(sample))
	var total int
	for i, v := range sample {
		m, err := post.DecodeMessage(v)
		if err != nil {
			b.Fatal(err)
		}
		if posts[i], err = json.Marshal(&m.Post); err != nil {
			b.Fatal(err)
		}
		total += len(posts[i])
	}
	b.SetBytes(int64(total / len(posts)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := post.DecodePost(posts[i%len(posts)], post.DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
