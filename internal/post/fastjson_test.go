package post

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// fastCases are inputs the fast path must either decode exactly as
// encoding/json does or leave to it.
var fastCases = []string{
	`{"id":"rss:1","text":"#Réarmement et #OTAN #otan","created_at":"2026-03-01T10:15:42Z","source":"rss-1","lang":"fr","hashtags":[{"tag":"rearmement","display":"Réarmement"},{"tag":"otan","display":"OTAN"}],"extractor_version":3}`,
	`  {"id":"a","text":"t\n\"q\" \\ \/ \u00e9 \ud83d\ude00 \t","created_at":"2025-11-05T09:00:00.123456789+02:00"} `,
	`{"id":"a","text":"t","hashtags":[],"extractor_version":0}`,
	`{"id":"a","text":"t","extra":{"x":[1,-2.5e3,true,false,null,"s",{}],"y":[]},"n":0}`,
	`{"ID":"a","text":"t"}`,
	`{"id":"a","Text":"t"}`,
	`{"id":"a","text":"t","hashtags":null}`,
	`{"id":null,"text":"t"}`,
	`{"id":"a","text":"t","extractor_version":1.0}`,
	`{"id":"a","text":"t","extractor_version":01}`,
	`{"id":"a","text":"t","extractor_version":-7}`,
	`{"id":"a","text":"t","extractor_version":99999999999}`,
	`{"id":"a","text":"t","created_at":"2025-11-05T09:00:00\u005a"}`,
	`{"id":"a","text":"t","created_at":"yesterday"}`,
	`{"id":"a","text":"lone \ud83d here"}`,
	`{"id":"a","text":"t","hashtags":[{"tag":"x","display":"X","extra":[1]},{"tag":"y"}]}`,
	`{"id":"a","text":"t","hashtags":[{"tag":"x"}],"hashtags":[{"display":"Y"}]}`,
	`{"id":"a","id":"b","text":"t"}`,
	`{"id":"a","text":"t","hashtags":["#x","y\u00e9", "＃z"]}`,
	`{"id":"a","text":"t","hashtags":["x"],"hashtags":["y"]}`,
	`{"id":"a","text":"t","HashTags":["x"]}`,
	`{"id":"a","text":"t","hashtags":[1]}`,
	`{"id":"a","text":"t","hashtags":["x",]}`,
	`{"id":"a","text":"t","hashtags":"x"}`,
	`{"id":"a","text":"t"}x`,
	`{"id":"a","text":"t",}`,
	`{"id":"a","text":"t"`,
	`{"id":"a","text":"t","k":tru}`,
	`{"id":"a","text":"t","k":-}`,
	`{"id":"a","text":"t","k":1.}`,
	`{"id":"a","text":"t","\u0069d":"b"}`,
	`{"id":"a","text":"t","ſource":"x"}`,
	`{"id":"a","text":"ctl` + "\x01" + `"}`,
	`{}`,
	// Invalid UTF-8 (the fast path must leave it: decodeStrict refuses it),
	// at every kind of place and on both sides of an 8-byte word.
	`{"id":"a","text":"bad ` + "\xff" + ` byte"}`,
	`{"id":"a","text":"ok é then ` + "\xc3" + `"}`,
	`{"id":"a","text":"` + "\xc0\x80" + ` overlong"}`,
	`{"id":"a","text":"` + "\xed\xa0\x80" + ` surrogate"}`,
	`{"id":"a","text":"1234567` + "\xe2\x82" + `"}`,
	`{"id":"a","text":"after \n an escape ` + "\x80" + `"}`,
	`{"id":"a` + "\xfe" + `","text":"t"}`,
	`{"id":"a","text":"t","x` + "\xff" + `":1}`,
	`{"id":"a","text":"t","extra":"` + "\xf8\x88\x80\x80\x80" + `"}`,
	`{"id":"a","text":"t","hashtags":[{"tag":"x","display":"` + "\xe9" + `"}]}`,
	`{"id":"a","text":"t"} ` + "\xff",
	"\xef\xbb\xbf" + `{"id":"a","text":"t"}`,
	`{"id":"a","text":"valid 日本語 한국어 العربية हिन्दी 😀 ` + "\u2028" + ` end"}`,
	// On both sides of the first 32 bytes, which plain checks one at a
	// time before it turns to the vectorised scan: the end of the string,
	// an escape, a control character, invalid UTF-8.
	`{"id":"` + strings.Repeat("a", 31) + `","text":"` + strings.Repeat("b", 32) + `"}`,
	`{"id":"a","text":"` + strings.Repeat("b", 33) + `\n` + strings.Repeat("c", 40) + `"}`,
	`{"id":"a","text":"` + strings.Repeat("b", 40) + "\x1f" + `"}`,
	`{"id":"a","text":"` + strings.Repeat("b", 31) + "\x7f\x00" + `"}`,
	`{"id":"a","text":"` + strings.Repeat("é", 20) + "\xff" + strings.Repeat("b", 40) + `"}`,
	`{"id":"a","text":"` + strings.Repeat("b", 31) + "é" + strings.Repeat("日本", 30) + `"}`,
	`{"id":"a","text":"` + strings.Repeat("b", 31) + "\xe6\x97" + `"}`,
	`{"id":"a","text":"` + strings.Repeat("b", 70),
}

func TestDecodeFastAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range fastCases {
		t.Run(in, func(t *testing.T) { checkFast(t, []byte(in)) })
	}
}

// sharedDecoder is used by every checkFast, so that it decodes each input
// after others.
var sharedDecoder MessageDecoder

// checkFast fails when the fast path decodes data differently from
// encoding/json, or decodes what encoding/json rejects.
func checkFast(t *testing.T, data []byte) {
	t.Helper()
	valid := utf8.Valid(data)
	var fm, sm Message
	if decodeFast(&fastDecoder{data: data}, &fm.Post, &fm, nil) {
		if !valid {
			t.Fatalf("fast path accepted invalid UTF-8: %q", data)
		}
		if err := json.Unmarshal(data, &sm); err != nil {
			t.Fatalf("fast path accepted a message encoding/json rejects (%v): %q", err, data)
		}
		if !reflect.DeepEqual(fm, sm) {
			t.Fatalf("message decoded differently:\nfast %+v\njson %+v\ninput %q", fm, sm, data)
		}
	}
	// Without the text, the same message but for the text, and the same
	// verdict.
	full, fullErr := DecodeMessage(data)
	bare, bareErr := DecodeMessageWithoutText(data)
	if (fullErr == nil) != (bareErr == nil) || (fullErr != nil && Reason(fullErr) != Reason(bareErr)) {
		t.Fatalf("DecodeMessage error %v, DecodeMessageWithoutText %v: %q", fullErr, bareErr, data)
	}
	if full.Text = ""; fullErr == nil && !reflect.DeepEqual(full, bare) {
		t.Fatalf("without the text:\n%+v\nwith it:\n%+v", bare, full)
	}
	// A MessageDecoder that has decoded other messages gives the same.
	reused, reusedErr := sharedDecoder.DecodeWithoutText(data)
	if (reusedErr == nil) != (bareErr == nil) || (bareErr != nil && Reason(reusedErr) != Reason(bareErr)) {
		t.Fatalf("MessageDecoder error %v, DecodeMessageWithoutText %v: %q", reusedErr, bareErr, data)
	}
	if bareErr == nil && !reflect.DeepEqual(reused, bare) {
		t.Fatalf("MessageDecoder:\n%+v\nDecodeMessageWithoutText:\n%+v", reused, bare)
	}
	if !valid && (fullErr == nil || !errors.Is(fullErr, ErrInvalidUTF8)) {
		t.Fatalf("invalid UTF-8 decoded with error %v, want ErrInvalidUTF8: %q", fullErr, data)
	}
	var fp, sp Post
	if decodeFast(&fastDecoder{data: data}, &fp, nil, nil) {
		if !valid {
			t.Fatalf("fast path accepted a post of invalid UTF-8: %q", data)
		}
		if err := json.Unmarshal(data, &sp); err != nil {
			t.Fatalf("fast path accepted a post encoding/json rejects (%v): %q", err, data)
		}
		if !reflect.DeepEqual(fp, sp) {
			t.Fatalf("post decoded differently:\nfast %+v\njson %+v\ninput %q", fp, sp, data)
		}
	}
}

func TestDecodeFastTakesTheCommonShape(t *testing.T) {
	var m Message
	if !decodeFast(&fastDecoder{data: []byte(fastCases[0])}, &m.Post, &m, nil) {
		t.Fatal("the message shape ingest writes is not on the fast path")
	}
	if len(m.Hashtags) != 2 || m.Hashtags[1].Display != "OTAN" || m.ExtractorVersion != 3 || m.CreatedAt.IsZero() {
		t.Fatalf("decoded %+v", m)
	}
	var p Post
	in := `{"author":"x","url":"u","id":"a","text":"t","hashtags":["#Otan","rearmement"]}`
	if !decodeFast(&fastDecoder{data: []byte(in)}, &p, nil, nil) || !reflect.DeepEqual(p.Tags, []string{"#Otan", "rearmement"}) {
		t.Fatalf("a post with a producer's hashtags is not on the fast path: %+v", p)
	}
}

func FuzzDecodeFast(f *testing.F) {
	for _, in := range fastCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkFast(t, data) })
}
