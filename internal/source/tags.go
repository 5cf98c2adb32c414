package source

import (
	"strings"
	"unicode"

	"tagpulse/internal/hashtag"
	"tagpulse/internal/post"
)

// platformTags returns the tags a platform linked (a Mastodon status's
// tags, a Bluesky post's tag facets and tags) as a post carries them to
// the runner (post.Post.Tags), which merges them with the tags of the
// text and canonicalises both alike. A tag no text could hold as one tag
// (empty, or with white space or control characters) is left out rather
// than refusing the whole post; the others are kept once each by
// canonical key, at most hashtag.MaxTagsPerPost of them.
func platformTags(raw []string) []string {
	if len(raw) == 0 {
		return nil
	}
	out := make([]string, 0, len(raw))
	seen := make(map[string]bool, len(raw))
	for _, t := range raw {
		name := post.TagName(strings.TrimSpace(t))
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			continue
		}
		key := hashtag.Canonical(name)
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, name)
		if len(out) == hashtag.MaxTagsPerPost {
			break
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// tagKeys returns the canonical keys of a post's tags: those of its text
// and those its platform linked. Filters on tags compare these.
func tagKeys(text string, tags []string) map[string]bool {
	keys := map[string]bool{}
	for _, t := range hashtag.Distinct(text) {
		keys[t.Tag] = true
	}
	for _, t := range tags {
		keys[hashtag.Canonical(post.TagName(t))] = true
	}
	return keys
}
