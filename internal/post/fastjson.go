package post

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	asmutf8 "github.com/segmentio/asm/utf8"
)

// The fast path of decoding. Posts and messages are decoded on the hot
// paths of both services (every JSONL line ingest reads, every Kafka
// message aggregate consumes), and encoding/json spends most of its time
// validating the input once and then decoding it by reflection. decodeFast
// reads the shapes ingest writes in a single pass without reflection.
//
// It is a fast path only: for anything it does not handle exactly as
// encoding/json would (a null, a number that is not a plain integer, an
// escaped created_at, a key that matches a field only case-insensitively, a
// repeated hashtags key, deep nesting, any syntax error) it returns false
// and the caller decodes with encoding/json, which also words the errors.
// FuzzDecodeFast checks that whenever it returns true, encoding/json
// returns the same value.
//
// It also checks the input's UTF-8 as it goes, string by string as it
// finds each one's end (plain): outside strings it accepts only ASCII, and
// a string with an invalid sequence leaves the input to the slow path
// (which rejects it). So when it returns true the whole
// input was valid UTF-8, and the caller need not check it again.

// maxSkipDepth bounds the nesting of the unknown values decodeFast skips.
const maxSkipDepth = 64

type fastDecoder struct {
	data []byte
	// str, unless empty, is data as a string, made once: the strings
	// without escapes that the decoder returns are slices of it, one
	// allocation for all of them instead of one each (a decoded post or
	// message has a dozen). They keep the whole input alive as long as any
	// of them is, which is what a post does anyway with its text; a
	// message decoded without its text leaves str empty and copies each
	// field instead, so that the aggregator's rows do not hold the texts.
	// (Empty data has no strings to share.)
	str string
	// blocks, when not nil, receives the copies of the strings that do
	// not share str, and tags is reused for the hashtags (see
	// MessageDecoder).
	blocks *stringBlocks
	tags   []Hashtag
	i      int
	buf    []byte
}

// decodeFast decodes d.data (d otherwise fresh but for its blocks and
// tags) into p, or, when m is not nil, into m (whose Post p must be). It
// reports whether it could. When rawText is not nil and the text has no
// escapes, the text's bytes (a slice of the data) go there and p.Text
// stays empty.
func decodeFast(d *fastDecoder, p *Post, m *Message, rawText *[]byte) bool {
	data := d.data
	if rawText == nil {
		d.str = string(data)
	}
	d.ws()
	sawTags := false
	ok := d.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return d.stringInto(&p.ID)
		case "text":
			if rawText != nil {
				start := d.i
				if raw, ok := d.rawString(); ok {
					*rawText, p.Text = raw, ""
					return true
				}
				d.i = start
			}
			return d.stringInto(&p.Text)
		case "created_at":
			return d.time(p)
		case "source":
			return d.stringInto(&p.Source)
		case "author":
			return d.stringInto(&p.Author)
		case "url":
			return d.stringInto(&p.URL)
		case "lang":
			return d.stringInto(&p.Lang)
		case "deleted":
			return d.boolInto(&p.Deleted)
		case "bot":
			return d.boolInto(&p.Bot)
		case "indexable":
			var v bool
			if !d.boolInto(&v) || p.Indexable != nil {
				return false // null, or a repeated key: encoding/json's rules
			}
			p.Indexable = &v
			return true
		case "visibility":
			return d.stringInto(&p.Visibility)
		case "hashtags":
			if m == nil {
				if sawTags {
					return false
				}
				sawTags = true
				return d.stringArray(&p.Tags)
			}
			if sawTags {
				return false
			}
			sawTags = true
			var ok bool
			m.Hashtags, ok = d.hashtags()
			return ok
		case "producer_hashtags":
			if m == nil {
				return d.unknown(key, false)
			}
			if m.ProducerTags != nil {
				return false // a repeated key: encoding/json's rules
			}
			return d.stringArray(&m.ProducerTags)
		case "extractor_version":
			if m == nil {
				return d.unknown(key, false)
			}
			var ok bool
			m.ExtractorVersion, ok = d.int()
			return ok
		}
		return d.unknown(key, m != nil)
	})
	return ok && d.end()
}

// object reads a JSON object whose keys have no escapes, calling value
// for each key with d at the start of its value.
func (d *fastDecoder) object(value func(key []byte) bool) bool {
	if !d.consume('{') {
		return false
	}
	d.ws()
	if d.consume('}') {
		return true
	}
	for {
		d.ws()
		key, ok := d.rawString()
		if !ok {
			return false
		}
		d.ws()
		if !d.consume(':') {
			return false
		}
		d.ws()
		if !value(key) {
			return false
		}
		d.ws()
		if d.consume(',') {
			continue
		}
		return d.consume('}')
	}
}

// unknown skips the value of a key that names no field, unless encoding/json
// might match it to one.
func (d *fastDecoder) unknown(key []byte, message bool) bool {
	if foldsToField(string(key), message, messageFields, postFields) {
		return false
	}
	return d.skip(0)
}

var (
	postFields    = []string{"id", "text", "created_at", "source", "author", "url", "lang", "hashtags", "deleted", "indexable", "bot", "visibility"}
	messageFields = []string{"hashtags", "extractor_version", "producer_hashtags"}
	tagFields     = []string{"tag", "display"}
)

// foldsToField reports whether key is not a field's exact name but might
// match one the way encoding/json matches names (case-insensitively, with
// Unicode folding): such keys are left to encoding/json.
func foldsToField(key string, message bool, extra, fields []string) bool {
	for i := range len(key) {
		if key[i] >= utf8.RuneSelf {
			return true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(key, f) {
			return true
		}
	}
	if message {
		for _, f := range extra {
			if strings.EqualFold(key, f) {
				return true
			}
		}
	}
	return false
}

func (d *fastDecoder) ws() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *fastDecoder) consume(c byte) bool {
	if d.i < len(d.data) && d.data[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end reports whether only white space follows.
func (d *fastDecoder) end() bool {
	d.ws()
	return d.i == len(d.data)
}

// rawString reads a string without escapes and returns its bytes without
// copying; a string with escapes is not handled.
func (d *fastDecoder) rawString() ([]byte, bool) {
	if !d.consume('"') {
		return nil, false
	}
	start := d.i
	if d.plain() && d.i < len(d.data) && d.data[d.i] == '"' {
		s := d.data[start:d.i]
		d.i++
		return s, true
	}
	return nil, false
}

// stringInto reads a JSON string into *dst.
func (d *fastDecoder) stringInto(dst *string) bool {
	if !d.consume('"') {
		return false
	}
	start := d.i
	if d.plain() && d.i < len(d.data) {
		switch d.data[d.i] {
		case '"':
			if d.str != "" {
				*dst = d.str[start:d.i]
			} else {
				*dst = d.blocks.copy(d.data[start:d.i])
			}
			d.i++
			return true
		case '\\':
			return d.escaped(start, dst)
		}
	}
	return false
}

// plain advances d.i over string contents that need no more than a copy:
// bytes other than the quote, the backslash and control characters. It
// stops at the first of those, or at the end of the input, and reports
// whether what it passed over is valid UTF-8 (no caller goes on when it is
// not). The quote and the backslash are found with bytes.IndexByte and
// the UTF-8 is checked with segmentio/asm's utf8.Valid, both vectorised
// (AVX2 where the CPU has it: 15 GB/s instead of the utf8 package's
// ~1 GB/s on multilingual text); only the control characters take a pass
// of their own, 8 bytes at a time. A quote, a backslash or a control
// character cannot occur inside a multi-byte sequence, so a run cut at one
// holds whole sequences when it is valid.
func (d *fastDecoder) plain() bool {
	data, start := d.data, d.i
	// Most strings of a message are short and ASCII (ids, tags, sources,
	// languages): a byte loop ends them sooner than the vectorised calls
	// get going.
	for n := min(len(data), start+shortString); start < n; start++ {
		c := data[start]
		if c == '"' || c == '\\' || c < 0x20 {
			d.i = start
			return true
		}
		if c >= utf8.RuneSelf {
			break
		}
	}
	end := start + unescapedRun(data[start:])
	d.i = end
	return asmutf8.Valid(data[start:end])
}

// unescapedRun returns the length of the run at the start of b without a
// quote, a backslash or a control character: what a JSON string holds as
// it is, and what the encoder writes as it is (verbatim).
func unescapedRun(b []byte) int {
	end := len(b)
	if q := bytes.IndexByte(b, '"'); q >= 0 {
		end = q
	}
	if i := bytes.IndexByte(b[:end], '\\'); i >= 0 {
		end = i
	}
	return controlIndex(b[:end])
}

// shortString is the length below which a byte loop beats the vectorised
// functions' set-up: plain checks that many bytes one at a time first, and
// appendString tries verbatim only on strings at least that long.
const shortString = 32

// controlIndex returns the index of the first byte of b below 0x20, or
// len(b) when there is none.
func controlIndex(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		// A byte below 0x20 borrows in w - 0x20 and had its high bit
		// clear: the test is exact for "some byte is below 0x20".
		if w := binary.LittleEndian.Uint64(b[i:]); (w-0x20*ones)&^w&highs != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if b[i] < 0x20 {
			return i
		}
	}
	return len(b)
}

// Bytes of a word of 8: ones and highs have 0x01 and 0x80 in every byte.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// escaped finishes a string whose first escape is at d.i.
func (d *fastDecoder) escaped(start int, dst *string) bool {
	b := append(d.buf[:0], d.data[start:d.i]...)
	for d.i < len(d.data) {
		run := d.i
		if !d.plain() || d.i >= len(d.data) {
			return false
		}
		b = append(b, d.data[run:d.i]...)
		switch d.data[d.i] {
		case '"':
			d.i++
			*dst = d.blocks.copy(b)
			d.buf = b
			return true
		case '\\':
		default: // a control character
			return false
		}
		if d.i+1 >= len(d.data) {
			return false
		}
		e := d.data[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return false
			}
			if utf16.IsSurrogate(r) {
				// Only a well-formed pair; encoding/json replaces a lone
				// surrogate, which is left to it.
				if !d.consume('\\') || !d.consume('u') {
					return false
				}
				r2, ok := d.hex4()
				if !ok {
					return false
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return false
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			return false
		}
	}
	return false
}

func (d *fastDecoder) hex4() (rune, bool) {
	if d.i+4 > len(d.data) {
		return 0, false
	}
	r, ok := parseHex4(d.data[d.i : d.i+4])
	if ok {
		d.i += 4
	}
	return r, ok
}

// parseHex4 reads the four hexadecimal digits of a \uXXXX escape (b holds
// exactly them); false if one is not a hex digit.
func parseHex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// time reads created_at the way time.Time's UnmarshalJSON does.
func (d *fastDecoder) time(p *Post) bool {
	start := d.i
	if _, ok := d.rawString(); !ok {
		return false
	}
	return p.CreatedAt.UnmarshalJSON(d.data[start:d.i]) == nil
}

// int reads a JSON integer that fits an int comfortably.
func (d *fastDecoder) int() (int, bool) {
	neg := d.consume('-')
	start := d.i
	n := 0
	for d.i < len(d.data) && '0' <= d.data[d.i] && d.data[d.i] <= '9' {
		n = n*10 + int(d.data[d.i]-'0')
		d.i++
	}
	digits := d.i - start
	switch {
	case digits == 0 || digits > 9:
		return 0, false
	case digits > 1 && d.data[start] == '0':
		return 0, false
	case d.i < len(d.data) && (d.data[d.i] == '.' || d.data[d.i] == 'e' || d.data[d.i] == 'E'):
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// hashtags reads an array of {"tag":…,"display":…} objects.
func (d *fastDecoder) hashtags() ([]Hashtag, bool) {
	if !d.consume('[') {
		return nil, false
	}
	out := d.tags[:0]
	if out == nil {
		out = make([]Hashtag, 0, 4)
	}
	d.ws()
	if d.consume(']') {
		return out, true
	}
	for {
		d.ws()
		var h Hashtag
		if !d.hashtag(&h) {
			return nil, false
		}
		out = append(out, h)
		d.ws()
		if d.consume(',') {
			continue
		}
		if d.consume(']') {
			return out, true
		}
		return nil, false
	}
}

// stringArray reads a non-empty array of strings into *dst (a producer's
// tags); an empty array or a null is left to encoding/json.
func (d *fastDecoder) stringArray(dst *[]string) bool {
	if !d.consume('[') {
		return false
	}
	var out []string
	for {
		d.ws()
		var s string
		if !d.stringInto(&s) {
			return false
		}
		out = append(out, s)
		d.ws()
		if d.consume(',') {
			continue
		}
		if d.consume(']') {
			*dst = out
			return true
		}
		return false
	}
}

func (d *fastDecoder) hashtag(h *Hashtag) bool {
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "tag":
			return d.stringInto(&h.Tag)
		case "display":
			return d.stringInto(&h.Display)
		}
		if foldsToField(string(key), false, nil, tagFields) {
			return false
		}
		return d.skip(0)
	})
}

// skip passes over one JSON value, checking its syntax.
func (d *fastDecoder) skip(depth int) bool {
	if depth > maxSkipDepth || d.i >= len(d.data) {
		return false
	}
	switch c := d.data[d.i]; {
	case c == '"':
		var s string
		return d.stringInto(&s)
	case c == '{':
		// Keys with escapes are left to encoding/json too.
		return d.object(func([]byte) bool { return d.skip(depth + 1) })
	case c == '[':
		d.i++
		d.ws()
		if d.consume(']') {
			return true
		}
		for {
			d.ws()
			if !d.skip(depth + 1) {
				return false
			}
			d.ws()
			if d.consume(',') {
				continue
			}
			return d.consume(']')
		}
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return d.number()
	}
	return false
}

// boolInto reads true or false into *dst.
func (d *fastDecoder) boolInto(dst *bool) bool {
	switch {
	case d.literal("true"):
		*dst = true
	case d.literal("false"):
		*dst = false
	default:
		return false
	}
	return true
}

func (d *fastDecoder) literal(s string) bool {
	if !bytes.HasPrefix(d.data[d.i:], []byte(s)) {
		return false
	}
	d.i += len(s)
	return true
}

// number passes over a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *fastDecoder) number() bool {
	d.consume('-')
	switch {
	case d.consume('0'):
	case d.i < len(d.data) && '1' <= d.data[d.i] && d.data[d.i] <= '9':
		d.digits()
	default:
		return false
	}
	if d.consume('.') && !d.digits() {
		return false
	}
	if d.consume('e') || d.consume('E') {
		if !d.consume('+') {
			d.consume('-')
		}
		if !d.digits() {
			return false
		}
	}
	return true
}

// digits passes over one or more digits and reports whether there was one.
func (d *fastDecoder) digits() bool {
	start := d.i
	for d.i < len(d.data) && '0' <= d.data[d.i] && d.data[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}
