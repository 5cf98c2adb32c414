package hashtag

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// urlState tells whether a '#' lies inside a URL, which twitter-text gets
// from its full URL extractor (protocols, a list of top-level domains).
// This is a lighter heuristic: the '#' is inside a URL when the token before
// it (the text since the last space, or since the last character at or above
// U+2000 such as CJK text and punctuation, which ends URLs) holds "://" or a
// '/' right after a host name such as "twitter.com".
//
// Calls come with increasing positions; each byte is examined once, so a
// text with many candidate tags in one long token stays linear.
type urlState struct {
	pos int  // text[:pos] has been examined
	in  bool // the token running up to pos is a URL
}

// inURL reports whether the '#' at h is inside a URL.
func (u *urlState) inURL(text string, h int) bool {
	k := h
	for k > u.pos {
		c := text[k-1]
		if c < utf8.RuneSelf {
			if c == ' ' || (c >= '\t' && c <= '\r') {
				break
			}
			k--
			continue
		}
		r, size := utf8.DecodeLastRuneInString(text[u.pos:k])
		if r >= 0x2000 || unicode.IsSpace(r) {
			break
		}
		k -= size
	}
	seg := text[k:h]
	if k > u.pos {
		u.in = false // a new token starts at k
	}
	u.pos = h
	if !u.in {
		u.in = urlish(seg)
	}
	return u.in
}

// urlish reports whether a token holds "://" or a host name followed by '/'.
func urlish(seg string) bool {
	if strings.Contains(seg, "://") {
		return true
	}
	for k := 0; k < len(seg); k++ {
		if seg[k] == '/' && hostBefore(seg[:k]) {
			return true
		}
	}
	return false
}

// hostBefore reports whether s ends with a host name: ASCII labels of letters,
// digits and '-' joined by dots, the last of two or more letters.
func hostBefore(s string) bool {
	k := len(s)
	for k > 0 && isHostByte(s[k-1]) {
		k--
	}
	host := s[k:]
	dot := strings.LastIndexByte(host, '.')
	if dot <= 0 || len(host)-dot-1 < 2 {
		return false
	}
	for _, c := range []byte(host[dot+1:]) {
		if !isASCIILetter(c) {
			return false
		}
	}
	return true
}

func isHostByte(c byte) bool {
	return c == '.' || c == '-' || (c >= '0' && c <= '9') || isASCIILetter(c)
}

func isASCIILetter(c byte) bool {
	return c|0x20 >= 'a' && c|0x20 <= 'z'
}
