// Package hashtag finds the hashtags of a post and gives each its canonical
// key, the identity under which trends count it.
//
// # Where it fits
//
// cmd/ingest calls it once per post, right after a source delivered the
// post's plain text (feed and Mastodon HTML goes through package htmltext
// first): the distinct tags (Distinct, or AppendOccurrences on the hot path)
// travel in the post's Kafka message together with Version, so the
// aggregator needs no text processing and a replay can tell which posts an
// older extractor handled. `ingest extract` exposes the same on stdin and
// stdout.
//
// # Extraction
//
// Extraction follows twitter-text (its conformance data lives in
// testdata/twitter-text/): a '#' or '＃' not followed by U+FE0F
// or U+20E3 (the keycap emoji #️⃣), preceded by the start of the text,
// U+FE0E/U+FE0F, or a character that is neither '&' nor a tag character;
// then the longest run of tag characters (letters, marks, decimal digits,
// '_' and a few specials such as ZWNJ, ZWJ and the middle dot) holding at
// least one letter or mark. A match followed directly by '#', '＃' or "://"
// is dropped, and so is one inside a URL.
//
// Offsets are byte offsets into the text; text[Start:End] runs from the
// '#' (or '＃') to the end of the tag, the span twitter-text's indices
// denote (twitter-text counts code points). Invalid UTF-8 bytes count as
// characters that are not tag characters: they end a tag and may precede a
// '#'; they never appear in a result.
//
// Extensions for what real posts carry, beyond twitter-text:
//
//   - LinkedIn's copy-paste form "hashtag#NIF2025" is the tag NIF2025: a '#'
//     right after the word "hashtag" (any case), itself at a place where a
//     '#' could start a tag, counts as preceded by a separator. The span
//     still starts at the '#'.
//   - The invisible characters copy-paste leaves, U+00AD soft hyphen, U+2060
//     word joiner, U+200B zero width space and U+FEFF BOM, neither split
//     nor hide a tag: between the '#' and the tag or inside the tag they are
//     skipped, lie inside the span and are dropped from Original and
//     Canonical. Before the '#' they act as separators, as in twitter-text.
//   - HTML entities and markup are not decoded here: that belongs where HTML
//     enters (package htmltext), so that "&#" in plain text stays what it is.
//
// # Canonical key
//
// Canonical implements docs/design.md's definition: NFKC, full case folding, NFD
// with U+0300–U+036F removed, NFC. Fast paths yield the same keys (the fuzz
// tests compare them with the definition): ASCII tags are lowered; tags made
// of runes that never interact under normalisation join cached per-rune
// keys; other keys are cached once computed. x/text's folding maps Cherokee to the
// lower-case letters where Unicode folds to the upper-case ones
// (golang/go#46101); Canonical corrects that, which keeps keys idempotent.
// Display forms are the Original spellings.
//
// # Departures from the conformance data
//
// All cases of the hashtag sections of extract.yml (hashtags,
// hashtags_from_astral, hashtags_with_indices), validate.yml and
// autolink.yml pass. Differences that no conformance case exercises:
//
//   - URL detection is a heuristic, not twitter-text's URL extractor with its
//     list of top-level domains: a '#' is inside a URL when the token before
//     it (since the last space or character at or above U+2000) holds "://"
//     or a host name ("twitter.com") followed by '/'. Reason: the full
//     extractor is a large regular expression plus a TLD table, far slower
//     than the scanner, for a case (tags inside URLs) that the heuristic
//     covers in practice.
//   - A tag whose canonical key is empty (only combining accents, such as
//     "#\u0301") is dropped: it could not be counted under any key.
//   - The extensions above (hashtag#, invisible characters) by design.
//   - Bounds: AppendDistinct and Distinct, which make the tags a post is
//     counted under, drop a tag whose key or spelling is over MaxTagBytes
//     (whole, never cut) and keep at most MaxTagsPerPost tags, counting
//     what they drop (Dropped). Extract still returns every occurrence.
package hashtag
