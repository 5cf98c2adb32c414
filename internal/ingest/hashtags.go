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
var Hashtags = Extractor{Version: hashtag.Version, AppendDistinct: AppendHashtags}

// AppendHashtags appends the distinct hashtags of a post to dst as a
// message carries them, and counts the tags left out by the bounds: the
// tags of text first, in order of first appearance, then the tags its
// producer already knew (post.Post.Tags) that text does not hold. A
// producer's tag is canonicalised like an extracted one (hashtag.Canonical)
// and keeps its spelling without the '#'; both kinds share the bounds. It
// allocates nothing beyond dst's growth for the usual handful of tags.
func AppendHashtags(dst []post.Hashtag, text string, known []string) ([]post.Hashtag, hashtag.Dropped) {
	var occBuf [16]hashtag.Occurrence
	var tagBuf [16]hashtag.Tag
	occ := hashtag.AppendOccurrences(occBuf[:0], text)
	for _, k := range known {
		name := post.TagName(k)
		// A tag of nothing but combining accents has an empty key, and an
		// extracted one like it is left out too.
		if key := hashtag.Canonical(name); key != "" {
			occ = append(occ, hashtag.Occurrence{Original: name, Canonical: key})
		}
	}
	tags, dropped := hashtag.AppendDistinct(tagBuf[:0], occ)
	for _, t := range tags {
		dst = append(dst, post.Hashtag{Tag: t.Tag, Display: t.Display})
	}
	return dst, dropped
}
