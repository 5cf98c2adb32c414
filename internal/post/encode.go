package post

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	asmutf8 "github.com/segmentio/asm/utf8"
)

// AppendMessage appends the JSON of m (the Kafka value ingest publishes) to
// dst: the bytes json.Marshal writes, without reflection. Publishing
// encodes every post, and this is several times faster than json.Marshal;
// TestAppendMessageMatchesMarshal and FuzzAppendMessage hold it to the
// same output. A created_at that JSON cannot carry (a year outside
// 0–9999, a zone offset of a day or more) is left to json.Marshal, which returns the error.
func AppendMessage(dst []byte, m *Message) ([]byte, error) {
	_, offset := m.CreatedAt.Zone()
	if y := m.CreatedAt.Year(); y < 0 || y > 9999 || offset <= -24*3600 || offset >= 24*3600 {
		b, err := json.Marshal(m)
		return append(dst, b...), err
	}
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, m.ID)
	dst = append(dst, `,"text":`...)
	dst = appendString(dst, m.Text)
	dst = append(dst, `,"created_at":"`...)
	dst = m.CreatedAt.AppendFormat(dst, "2006-01-02T15:04:05.999999999Z07:00")
	dst = append(dst, '"')
	for _, f := range [...]struct{ name, v string }{{`,"source":`, m.Source}, {`,"author":`, m.Author}, {`,"url":`, m.URL}, {`,"lang":`, m.Lang}} {
		if f.v != "" {
			dst = append(dst, f.name...)
			dst = appendString(dst, f.v)
		}
	}
	if m.Deleted {
		dst = append(dst, `,"deleted":true`...)
	}
	if m.Indexable != nil {
		dst = append(dst, `,"indexable":`...)
		dst = strconv.AppendBool(dst, *m.Indexable)
	}
	if m.Bot {
		dst = append(dst, `,"bot":true`...)
	}
	if m.Visibility != "" {
		dst = append(dst, `,"visibility":`...)
		dst = appendString(dst, m.Visibility)
	}
	dst = append(dst, `,"hashtags":`...)
	if m.Hashtags == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, h := range m.Hashtags {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"tag":`...)
			dst = appendString(dst, h.Tag)
			dst = append(dst, `,"display":`...)
			dst = appendString(dst, h.Display)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"extractor_version":`...)
	dst = appendInt(dst, m.ExtractorVersion)
	if len(m.ProducerTags) > 0 {
		dst = append(dst, `,"producer_hashtags":[`...)
		for i, t := range m.ProducerTags {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, t)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}'), nil
}

func appendInt(dst []byte, n int) []byte {
	if n < 0 {
		dst = append(dst, '-')
		// -n overflows only for the smallest int, which no version is.
		n = -n
	}
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(dst, buf[i:]...)
}

// safeASCII marks the ASCII bytes json.Marshal writes as they are: not a
// control character, '"', '\\', or the HTML characters '<', '>' and '&'
// that it escapes by default.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendString appends s as json.Marshal quotes it (HTML-safe, U+2028 and
// U+2029 escaped, invalid UTF-8 replaced by U+FFFD).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	if len(s) >= shortString && verbatim(s) {
		dst = append(dst, s...)
		return append(dst, '"')
	}
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if safeASCII[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		// Valid 2- and 3-byte sequences (accents, CJK, Hangul, Arabic,
		// Devanagari) are checked here; the rest goes to the utf8 package.
		if c := s[i]; c >= 0xC2 && c <= 0xDF && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			i += 2
			continue
		} else if (c >= 0xE1 && c <= 0xEC || c == 0xEE || c == 0xEF) && i+2 < len(s) && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80 &&
			(c != 0xE2 || s[i+1] != 0x80 || s[i+2]&0xFE != 0xA8) { // not U+2028, U+2029
			i += 3
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// verbatim reports whether json.Marshal writes s as it is between its
// quotes: valid UTF-8 without a control character, '"', '\\', '<', '>', '&',
// U+2028 or U+2029. Texts of posts mostly are, and the vectorised searches
// (bytes.IndexByte, segmentio/asm's utf8.Valid) answer in a fraction of the
// time appendString's byte loop takes to find nothing to escape.
func verbatim(s string) bool {
	b := unsafe.Slice(unsafe.StringData(s), len(s)) // read, never written
	if unescapedRun(b) != len(b) {
		return false
	}
	for _, c := range [...]byte{'<', '>', '&'} {
		if strings.IndexByte(s, c) >= 0 {
			return false
		}
	}
	// U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
	for i := 0; ; {
		j := strings.IndexByte(s[i:], 0xE2)
		if j < 0 {
			break
		}
		i += j + 1
		if i+1 < len(s) && s[i] == 0x80 && s[i+1]&0xFE == 0xA8 {
			return false
		}
	}
	return asmutf8.Valid(b)
}
