package hashtag

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Version is the extractor version carried in every Kafka message; bump it
// whenever Extract or Canonical can return a different result for some text,
// so that a replay can tell which posts need re-extracting.
const Version = 1

// Occurrence is one hashtag as it occurs in a text.
//
// Start and End are byte offsets into the text. The span text[Start:End]
// begins at the '#' (or fullwidth '＃') and ends after the last tag
// character, like twitter-text's indices (which count code points instead
// of bytes). The word "hashtag" of LinkedIn's "hashtag#X" form lies before
// Start, outside the span.
type Occurrence struct {
	Start, End int
	// Original is the tag as written, without the '#' and without the
	// invisible characters (soft hyphen, word joiner, zero-width space, BOM)
	// that copy-paste may leave inside it.
	Original string
	// Canonical is the canonical key of Original, see Canonical.
	Canonical string
}

// Tag is a distinct hashtag of a post, as the ingest side publishes it.
type Tag struct {
	// Tag is the canonical key.
	Tag string `json:"tag"`
	// Display is the original spelling of the tag's first occurrence.
	Display string `json:"display"`
}

// Extract returns every hashtag occurrence of text, in order.
func Extract(text string) []Occurrence {
	return AppendOccurrences(nil, text)
}

// Bounds on the tags of one post, enforced where tags are made (here) and
// again where a Kafka message is decoded (package post), so that no tag the
// API would refuse to look up ever reaches a table, and one post cannot
// make an unbounded number of rows.
const (
	// MaxTagBytes bounds a tag's canonical key and its original spelling,
	// in bytes. A longer tag is dropped, not truncated: a cut key would
	// count posts under a tag nobody wrote, and could merge two different
	// tags that share their first MaxTagBytes bytes.
	MaxTagBytes = 256
	// MaxTagsPerPost bounds the distinct tags of one post; the tags after
	// the first MaxTagsPerPost are dropped. Real posts carry a handful
	// (Instagram allows 30); more is spam or a hostile producer.
	MaxTagsPerPost = 100
)

// Dropped counts the tags that AppendDistinct left out, by reason.
type Dropped struct {
	// TooLong counts occurrences whose key or spelling is over MaxTagBytes.
	TooLong int
	// TooMany counts distinct tags beyond MaxTagsPerPost.
	TooMany int
}

// Total returns the number of tags dropped for any reason.
func (d Dropped) Total() int { return d.TooLong + d.TooMany }

// Distinct returns the distinct tags of text (by canonical key) in order of
// first appearance, each with the spelling of its first occurrence, within
// the bounds of AppendDistinct.
func Distinct(text string) []Tag {
	var buf [16]Occurrence
	occ := AppendOccurrences(buf[:0], text)
	tags, _ := AppendDistinct(nil, occ)
	return tags
}

// AppendDistinct appends to dst the distinct tags of occ (by canonical key),
// in order of first appearance, and returns the extended slice. It keeps
// no tag whose canonical key or original spelling is over MaxTagBytes, and
// at most MaxTagsPerPost tags; what it leaves out is counted in Dropped.
func AppendDistinct(dst []Tag, occ []Occurrence) ([]Tag, Dropped) {
	first := len(dst)
	const linearMax = 32
	var (
		seen    map[string]struct{}
		dropped Dropped
	)
	for _, o := range occ {
		if len(o.Canonical) > MaxTagBytes || len(o.Original) > MaxTagBytes {
			dropped.TooLong++
			continue
		}
		// At the bound the set is in use, so that each tag beyond it is
		// recorded, and counted once however often it repeats.
		if len(dst)-first < min(linearMax, MaxTagsPerPost) {
			dup := false
			for _, t := range dst[first:] {
				if t.Tag == o.Canonical {
					dup = true
					break
				}
			}
			if dup {
				continue
			}
		} else {
			if seen == nil {
				seen = make(map[string]struct{}, 2*linearMax)
				for _, t := range dst[first:] {
					seen[t.Tag] = struct{}{}
				}
			}
			if _, dup := seen[o.Canonical]; dup {
				continue
			}
			seen[o.Canonical] = struct{}{}
		}
		if len(dst)-first >= MaxTagsPerPost {
			dropped.TooMany++
			continue
		}
		dst = append(dst, Tag{Tag: o.Canonical, Display: o.Original})
	}
	return dst, dropped
}

// AppendOccurrences appends the hashtag occurrences of text to dst and
// returns the extended slice. It allocates nothing but the growth of dst and,
// when some tag is not already in canonical form (or holds invisible
// characters), one string per call that holds those tags' keys.
//
// Invalid UTF-8 bytes are treated as characters that are not tag characters.
func AppendOccurrences(dst []Occurrence, text string) []Occurrence {
	first := len(dst)
	dst = scan(dst, text)
	if len(dst) == first {
		return dst
	}
	return finish(dst, first)
}

// Character classes of the twitter-text hashtag rules.
const (
	clsNone   = 0 // not a tag character
	clsOther  = 1 // decimal digit, '_' or one of the special characters
	clsLetter = 2 // letter or mark: a tag needs at least one
)

// asciiClass classifies the ASCII bytes.
var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = clsLetter
		t[c-'a'+'A'] = clsLetter
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = clsOther
	}
	t['_'] = clsOther
	return t
}()

// classify returns the class of a non-ASCII rune. utf8.RuneError (which also
// stands for an invalid byte) is not a tag character.
func classify(r rune) uint8 {
	if r < utf8.RuneSelf {
		return asciiClass[r]
	}
	if unicode.IsLetter(r) || unicode.IsMark(r) {
		return clsLetter
	}
	if unicode.IsDigit(r) {
		return clsOther
	}
	switch r {
	case 0x200C, // zero width non-joiner
		0x200D, // zero width joiner
		0xA67E, // Cyrillic kavyka
		0x05BE, // Hebrew maqaf
		0x05F3, // Hebrew geresh
		0x05F4, // Hebrew gershayim
		0xFF5E, // fullwidth tilde
		0x301C, // wave dash
		0x309B, // katakana-hiragana voiced sound mark
		0x309C, // katakana-hiragana semi-voiced sound mark
		0x30A0, // katakana-hiragana double hyphen
		0x30FB, // katakana middle dot
		0x3003, // ditto mark
		0x0F0B, // Tibetan intersyllabic tsheg
		0x0F0C, // Tibetan delimiter tsheg bstar
		0x00B7: // middle dot
		return clsOther
	}
	return clsNone
}

// isInvisible reports whether r is one of the invisible characters that
// copy-paste leaves in text and that neither split nor hide a tag.
func isInvisible(r rune) bool {
	switch r {
	case 0x00AD, // soft hyphen
		0x200B, // zero width space
		0x2060, // word joiner
		0xFEFF: // zero width no-break space (BOM)
		return true
	}
	return false
}

const fullwidthHash = "＃" // U+FF03

// scan appends the occurrences of text to dst with Original set to the raw
// tag span (invisible characters included) and Canonical empty; finish
// completes them.
func scan(dst []Occurrence, text string) []Occurrence {
	// Positions of the next '#' and '＃' at or after i: -2 unknown, -1 none.
	half, full := -2, -2
	var url urlState
	i := 0
	for i < len(text) {
		if half != -1 && half < i {
			half = indexFrom(text, i, "#")
		}
		if full != -1 && full < i {
			full = indexFrom(text, i, fullwidthHash)
		}
		var h, hlen int
		switch {
		case half < 0 && full < 0:
			return dst
		case full < 0 || (half >= 0 && half < full):
			h, hlen = half, 1
		default:
			h, hlen = full, len(fullwidthHash)
		}
		i = h + hlen
		if !validBefore(text[:h]) {
			continue
		}

		// The tag: skip invisible characters anywhere, then the longest
		// run of tag characters.
		j := h + hlen
		for j < len(text) && text[j] >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(text[j:])
			if !isInvisible(r) {
				// A '#' followed by U+FE0F or U+20E3 is an emoji (#️⃣).
				if r == 0xFE0F || r == 0x20E3 {
					j = -1
				}
				break
			}
			j += size
		}
		if j < 0 {
			continue
		}
		hasLetter := false
		end := j
		for j < len(text) {
			c := text[j]
			if c < utf8.RuneSelf {
				cl := asciiClass[c]
				if cl == clsNone {
					break
				}
				if cl == clsLetter {
					hasLetter = true
				}
				j++
				end = j
				continue
			}
			r, size := utf8.DecodeRuneInString(text[j:])
			if isInvisible(r) {
				j += size
				continue
			}
			cl := classify(r)
			if cl == clsNone {
				break
			}
			if cl == clsLetter {
				hasLetter = true
			}
			j += size
			end = j
		}
		if !hasLetter {
			continue
		}
		i = end
		// A match followed by '#', '＃' or "://" is no tag (twitter-text).
		rest := text[end:]
		if strings.HasPrefix(rest, "#") || strings.HasPrefix(rest, fullwidthHash) || strings.HasPrefix(rest, "://") {
			continue
		}
		if url.inURL(text, h) {
			continue
		}
		dst = append(dst, Occurrence{Start: h, End: end, Original: text[h+hlen : end]})
	}
	return dst
}

// indexFrom returns the index of sep in text at or after i, or -1.
func indexFrom(text string, i int, sep string) int {
	k := strings.Index(text[i:], sep)
	if k < 0 {
		return -1
	}
	return i + k
}

// validBefore reports whether a '#' may follow before, the text before it:
// at the start, after U+FE0E/U+FE0F, or after a character that is neither
// '&' nor a tag character; or, as LinkedIn renders tags, right after the word
// "hashtag" (any case) that itself stands where a '#' could.
func validBefore(before string) bool {
	if before == "" {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(before)
	switch {
	case r == 0xFE0E || r == 0xFE0F:
		return true
	case r == '&':
		return false
	case classify(r) == clsNone:
		return true
	}
	const word = "hashtag"
	if len(before) < len(word) {
		return false
	}
	tail := before[len(before)-len(word):]
	for k := 0; k < len(word); k++ {
		if tail[k]|0x20 != word[k] {
			return false
		}
	}
	prev := before[:len(before)-len(word)]
	if prev == "" {
		return true
	}
	r, _ = utf8.DecodeLastRuneInString(prev)
	return r == 0xFE0E || r == 0xFE0F || (r != '&' && classify(r) == clsNone)
}
