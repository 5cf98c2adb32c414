package ingest

import (
	"tagpulse/internal/hashtag"
	"tagpulse/internal/post"
)

// Hashtags is the extractor ingest publishes with: package hashtag's, at
// its version, within its bounds (hashtag.MaxTagBytes,
// hashtag.MaxTagsPerPost). `ingest file`, `ingest run` and the benchmark
// harness all use it, so a message means the same wherever it was made.
var Hashtags = Extractor{Version: hashtag.Version, AppendDistinct: AppendHashtags}

// AppendHashtags appends the distinct hashtags of text to dst as a
// message carries them, and counts the tags left out by the bounds. It
// allocates nothing beyond dst's growth for the usual handful of tags.
func AppendHashtags(dst []post.Hashtag, text string) ([]post.Hashtag, hashtag.Dropped) {
	var occBuf [16]hashtag.Occurrence
	var tagBuf [16]hashtag.Tag
	tags, dropped := hashtag.AppendDistinct(tagBuf[:0], hashtag.AppendOccurrences(occBuf[:0], text))
	for _, t := range tags {
		dst = append(dst, post.Hashtag{Tag: t.Tag, Display: t.Display})
	}
	return dst, dropped
}

// Message is the Kafka message ingest publishes for p with extractor e:
// the post, its distinct hashtags and e's version. The benchmark corpus and
// its harness build their messages with it, so they match what ingest
// writes.
func (e Extractor) Message(p post.Post) post.Message {
	hs, _ := e.AppendDistinct(nil, p.Text)
	return post.Message{Post: p, Hashtags: hs, ExtractorVersion: e.Version}
}
