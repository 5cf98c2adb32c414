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
