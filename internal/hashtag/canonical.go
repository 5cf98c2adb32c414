package hashtag

import (
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Canonical returns the canonical key of a tag (given without its '#'), the
// one docs/design.md defines: Unicode NFKC, then full case folding, then NFD with
// the combining diacritical marks U+0300–U+036F removed, then NFC. Before
// that it drops the invisible characters Extract ignores (soft hyphen, word
// joiner, zero-width space, BOM) and replaces invalid UTF-8 with U+FFFD.
//
// So "Réarmement", "RÉARMEMENT" and its NFD spelling are "rearmement",
// "Straße" is "strasse", "ＯＴＡＮ" is "otan" and "ﾄﾞﾛｰﾝ" is "ドローン";
// Devanagari vowel signs, Hangul syllables and the Japanese voiced marks
// stay intact.
func Canonical(tag string) string {
	if lowerASCII(tag) {
		return tag
	}
	if isASCII(tag) {
		return string(appendLowerASCII(make([]byte, 0, len(tag)), tag))
	}
	if !utf8.ValidString(tag) {
		tag = strings.ToValidUTF8(tag, "\uFFFD")
	}
	s := getScratch()
	defer putScratch(s)
	s.raw = stripInvisible(s.raw[:0], tag)
	s.buf = s.appendCanonical(s.buf[:0], s.raw)
	if string(s.buf) == tag {
		return tag
	}
	return string(s.buf)
}

// finish completes the occurrences dst[first:] that scan produced: it drops
// invisible characters from Original, sets Canonical and removes the
// occurrences whose key is empty (a tag of nothing but combining accents).
// All strings it builds share one allocation.
func finish(dst []Occurrence, first int) []Occurrence {
	var s *scratch
	for k := first; k < len(dst); k++ {
		o := &dst[k]
		if lowerASCII(o.Original) {
			o.Canonical = o.Original
			continue
		}
		if s == nil {
			s = getScratch()
			s.buf, s.spans = s.buf[:0], s.spans[:0]
		}
		sp := span{occ: k, orig: -1}
		s.raw = stripInvisible(s.raw[:0], o.Original)
		if len(s.raw) != len(o.Original) {
			sp.orig = len(s.buf)
			s.buf = append(s.buf, s.raw...)
		}
		sp.canon = len(s.buf)
		s.buf = s.appendCanonical(s.buf, s.raw)
		if sp.orig < 0 && string(s.buf[sp.canon:]) == o.Original {
			// Already canonical: reuse the substring of the text.
			s.buf = s.buf[:sp.canon]
			o.Canonical = o.Original
			continue
		}
		sp.end = len(s.buf)
		s.spans = append(s.spans, sp)
	}
	if s == nil {
		return dst
	}
	if len(s.spans) == 0 {
		putScratch(s)
		return dst
	}
	all := string(s.buf)
	for _, sp := range s.spans {
		o := &dst[sp.occ]
		if sp.orig >= 0 {
			o.Original = all[sp.orig:sp.canon]
		}
		o.Canonical = all[sp.canon:sp.end]
	}
	// Drop the occurrences whose key came out empty.
	out := first
	for k := first; k < len(dst); k++ {
		if dst[k].Canonical != "" {
			dst[out] = dst[k]
			out++
		}
	}
	clear(dst[out:])
	putScratch(s)
	return dst[:out]
}

// span records where finish put an occurrence's strings in scratch.buf.
type span struct {
	occ        int // index in dst
	orig       int // start of Original, or -1 when it is a substring of the text
	canon, end int // Canonical
}

// scratch holds the buffers of one canonicalisation, pooled so that the hot
// path allocates nothing but the final string.
type scratch struct {
	buf        []byte // the strings handed out
	raw        []byte // input copy
	a, b, c, d []byte // pipeline stages
	spans      []span
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(s *scratch) {
	const maxKeep = 64 << 10 // do not pin the buffers of a huge tag
	if cap(s.buf) > maxKeep || cap(s.a) > maxKeep || cap(s.b) > maxKeep || cap(s.c) > maxKeep || cap(s.d) > maxKeep || cap(s.raw) > maxKeep {
		return
	}
	scratchPool.Put(s)
}

// slowKeys remembers the keys the full pipeline computed: tags that need
// it (Devanagari vowel signs, halfwidth kana, text in NFD) recur too.
var slowKeys = keyCache{max: 16 << 10}

// keyCache maps tags to keys; when full it starts over, which bounds its
// memory without bookkeeping.
type keyCache struct {
	max int
	mu  sync.RWMutex
	m   map[string]string
}

func (c *keyCache) get(tag []byte) (string, bool) {
	c.mu.RLock()
	key, ok := c.m[string(tag)]
	c.mu.RUnlock()
	return key, ok
}

func (c *keyCache) put(tag, key []byte) {
	const maxLen = 256 // long tags are rare and would bloat the cache
	if len(tag) > maxLen {
		return
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[string]string)
	}
	c.m[string(tag)] = string(key)
	c.mu.Unlock()
}

// folder does full case folding; a folding Caser is stateless and safe for
// concurrent use.
var folder = cases.Fold()

// appendCanonical appends the canonical key of the valid UTF-8 text src
// (invisible characters already removed) to dst.
func (s *scratch) appendCanonical(dst, src []byte) []byte {
	if isASCIIBytes(src) {
		for _, c := range src {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
		return dst
	}
	if out, ok := appendCanonicalFast(dst, src); ok {
		return out
	}
	if key, ok := slowKeys.get(src); ok {
		return append(dst, key...)
	}
	start := len(dst)
	dst = s.appendCanonicalSlow(dst, src)
	slowKeys.put(src, dst[start:])
	return dst
}

// appendCanonicalSlow is appendCanonical without the ASCII fast path: the
// definition itself, step by step.
func (s *scratch) appendCanonicalSlow(dst, src []byte) []byte {
	s.a = norm.NFKC.Append(s.a[:0], src...)
	s.b = appendFold(s.b[:0], s.a)
	fixCherokee(s.b)
	s.c = norm.NFD.Append(s.c[:0], s.b...)
	// Remove U+0300–U+036F, encoded as CC 80 … CD AF.
	w := 0
	for r := 0; r < len(s.c); {
		c := s.c[r]
		if (c == 0xCC || c == 0xCD) && r+1 < len(s.c) && (c == 0xCC || s.c[r+1] <= 0xAF) {
			r += 2
			continue
		}
		s.c[w] = c
		w++
		r++
	}
	s.c = s.c[:w]
	// NFC into its own buffer: dst may end with other text that must not
	// combine with the key.
	s.d = norm.NFC.Append(s.d[:0], s.c...)
	return append(dst, s.d...)
}

// appendFold appends the full case folding of src to dst.
func appendFold(dst, src []byte) []byte {
	size := 2*len(src) + 16
	for {
		if cap(dst)-len(dst) < size {
			dst = append(dst[:len(dst):len(dst)], make([]byte, size)...)[:len(dst)]
		}
		folder.Reset()
		n, _, err := folder.Transform(dst[len(dst):cap(dst)], src, true)
		if err == nil {
			return dst[:len(dst)+n]
		}
		if err != transform.ErrShortDst {
			// Not expected for valid UTF-8; keep the text rather than lose it.
			return append(dst, src...)
		}
		size *= 2
	}
}

// fixCherokee corrects in place what x/text's folding gets wrong
// (golang/go#46101): Unicode folds Cherokee to the upper-case letters, encoded
// first, but cases.Fold maps them to the lower-case ones. Both letter ranges
// have 3-byte encodings, so the fix keeps every length.
func fixCherokee(b []byte) {
	for k := 0; k+2 < len(b); k++ {
		if b[k] != 0xEA || (b[k+1] != 0xAD && b[k+1] != 0xAE) {
			if b[k] != 0xE1 || b[k+1] != 0x8F {
				continue
			}
		}
		r, size := utf8.DecodeRune(b[k:])
		switch {
		case r >= 0xAB70 && r <= 0xABBF: // small letters A…YA
			utf8.EncodeRune(b[k:], r-0xAB70+0x13A0)
		case r >= 0x13F8 && r <= 0x13FD: // small letters YE…MV
			utf8.EncodeRune(b[k:], r-8)
		}
		k += size - 1
	}
}

// lowerASCII reports whether s is ASCII without upper-case letters, which
// makes it its own canonical key.
func lowerASCII(s string) bool {
	for k := 0; k < len(s); k++ {
		c := s[k]
		if c >= utf8.RuneSelf || (c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func isASCIIBytes(s []byte) bool {
	for _, c := range s {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for k := 0; k < len(s); k++ {
		if s[k] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func appendLowerASCII(dst []byte, s string) []byte {
	for k := 0; k < len(s); k++ {
		c := s[k]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// stripInvisible appends s to dst without its invisible characters.
func stripInvisible(dst []byte, s string) []byte {
	for len(s) > 0 {
		k := 0
		for k < len(s) {
			c := s[k]
			if c == 0xC2 || c == 0xE2 || c == 0xEF {
				if r, _ := utf8.DecodeRuneInString(s[k:]); isInvisible(r) {
					break
				}
			}
			k++
		}
		dst = append(dst, s[:k]...)
		if k == len(s) {
			break
		}
		_, size := utf8.DecodeRuneInString(s[k:])
		s = s[k+size:]
	}
	return dst
}
