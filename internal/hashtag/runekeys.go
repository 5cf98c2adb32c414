package hashtag

import (
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The fast path of Canonical for text beyond ASCII. Running the x/text
// pipeline costs microseconds per tag; instead, most tags (Latin with
// accents, Greek, Cyrillic, kana, Hangul, CJK, Arabic letters) are made of
// runes that never interact under normalisation: each starts a segment under
// NFC, NFKC and NFD, and so does the key it has alone. The key of a string of
// such runes is the concatenation of their keys, which runeKeys caches.
// FuzzCanonical checks that this agrees with the definition.

// runeKeys holds, for each BMP rune, 0 while unknown, runeKeySlow when the
// rune needs the full pipeline, or its key of up to 7 bytes: the low byte is
// the key's length plus one, then the key's bytes.
var runeKeys [0x10000]atomic.Uint64

const runeKeySlow = 0xFF

// appendCanonicalFast appends the key of src to dst if every rune of src
// has a cached key; otherwise it returns dst unchanged and false.
func appendCanonicalFast(dst, src []byte) ([]byte, bool) {
	start := len(dst)
	for k := 0; k < len(src); {
		c := src[k]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			k++
			continue
		}
		r, size := utf8.DecodeRune(src[k:])
		if r > 0xFFFF || (r == utf8.RuneError && size == 1) {
			return dst[:start], false
		}
		e := runeKeys[r].Load()
		if e == 0 {
			e = runeKey(r)
			runeKeys[r].Store(e)
		}
		n := int(e&0xFF) - 1
		if n == runeKeySlow-1 {
			return dst[:start], false
		}
		for i := 1; i <= n; i++ {
			dst = append(dst, byte(e>>(8*i)))
		}
		k += size
	}
	return dst, true
}

// runeKey computes the runeKeys entry of r.
func runeKey(r rune) uint64 {
	if (r >= 0x0300 && r <= 0x036F) || isInvisible(r) {
		return runeKeySlow
	}
	var in [utf8.UTFMax]byte
	n := utf8.EncodeRune(in[:], r)
	for _, f := range []norm.Form{norm.NFC, norm.NFD, norm.NFKC, norm.NFKD} {
		if !f.Properties(in[:n]).BoundaryBefore() {
			return runeKeySlow
		}
	}
	var s scratch
	key := s.appendCanonicalSlow(nil, in[:n])
	if len(key) > 7 {
		return runeKeySlow
	}
	// The key must not combine with the key before it either.
	for k := 0; k < len(key); {
		p := norm.NFC.Properties(key[k:])
		if !p.BoundaryBefore() || !norm.NFD.Properties(key[k:]).BoundaryBefore() {
			return runeKeySlow
		}
		k += p.Size()
	}
	e := uint64(len(key) + 1)
	for i, c := range key {
		e |= uint64(c) << (8 * (i + 1))
	}
	return e
}
