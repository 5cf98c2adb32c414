package ingest

import (
	"tagpulse/internal/hashtag"
	"tagpulse/internal/post"
)

// Hashtags is the extractor ingest publishes with: package hashtag's, at
// its version, within its bounds (hashtag.MaxTagBytes,
// hashtag.MaxTagsPerPost). `ingest file`, `ingest run`, `ingest extract`
// and the benchmark harness all use it, so a message means the same
// wherever it was made.
var Hashtags = Extractor{Version: hashtag.Version, AppendDistinct: post.AppendHashtags}

// Message is the Kafka message ingest publishes for p with extractor e:
// the post, its distinct hashtags (of its text and its producer's tags),
// its producer's tags and e's version. The benchmark corpus and its
// harness build their messages with it, so they match what ingest writes.
func (e Extractor) Message(p post.Post) post.Message {
	hs, _ := e.AppendDistinct(nil, p.Text, p.Tags)
	return post.Message{Post: p, Hashtags: hs, ProducerTags: post.ProducerTags(p.Tags), ExtractorVersion: e.Version}
}
