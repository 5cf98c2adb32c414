package post

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"tagpulse/internal/hashtag"
)

// The strings a MessageDecoder returns share blocks that later messages
// are copied into: none of them may change afterwards, whatever the
// sizes of the strings (short ones shared, long ones on their own, blocks
// filled to their end).
func TestMessageDecoderStringsStayValid(t *testing.T) {
	var md MessageDecoder
	var inputs [][]byte
	var got []Message
	for i := range 3000 {
		id := fmt.Sprintf("src:%d%s", i, strings.Repeat("x", i%97))
		tag := strings.Repeat("t", 1+i%hashtag.MaxTagBytes)
		src := strings.Repeat("s", 1+i%(2*longString))
		in := fmt.Sprintf(`{"id":%q,"text":"t","created_at":"2026-01-01T00:00:00Z","source":%q,"lang":"fr","hashtags":[{"tag":%q,"display":"D\u00e9%d"}],"extractor_version":1}`, id, src, tag, i)
		m, err := md.DecodeWithoutText([]byte(in))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		m.Hashtags = append([]Hashtag(nil), m.Hashtags...) // reused by the next call
		inputs, got = append(inputs, []byte(in)), append(got, m)
	}
	for i, in := range inputs {
		want, err := DecodeMessageWithoutText(in)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[i], want) {
			t.Fatalf("message %d changed after later decodes:\n got %+v\nwant %+v", i, got[i], want)
		}
	}
}

// Invalid messages get the same errors as from DecodeMessageWithoutText,
// and leave the decoder usable.
func TestMessageDecoderRejectsAsDecodeMessageWithoutText(t *testing.T) {
	var md MessageDecoder
	for _, in := range []string{`{"id":"a","text":"t"}`, "{\"id\":\"\xff\"}", `[1]`, `{"id":"a","text":"t","created_at":"2026-01-01T00:00:00Z","hashtags":[{"display":"x"}]}`} {
		_, want := DecodeMessageWithoutText([]byte(in))
		_, err := md.DecodeWithoutText([]byte(in))
		if want == nil || err == nil || err.Error() != want.Error() {
			t.Fatalf("%q: MessageDecoder error %v, want %v", in, err, want)
		}
	}
	m, err := md.DecodeWithoutText([]byte(fastCases[0]))
	if err != nil || len(m.Hashtags) != 2 || m.ID != "rss:1" {
		t.Fatalf("after errors: %+v, %v", m, err)
	}
}

// DecodeWithExcerpt keeps the start of the text, whether the text had
// escapes (decoded) or not (left undecoded by the fast path), and
// otherwise decodes as DecodeWithoutText.
func TestMessageDecoderExcerpt(t *testing.T) {
	long := strings.Repeat("é", 300)
	for _, c := range []struct {
		name, text string // text as JSON string contents
		runes      int
		want       string
	}{
		{"short", "OTAN forum", 280, "OTAN forum"},
		{"trimmed", `  OTAN forum \n`, 280, "OTAN forum"},
		{"exactly the limit", strings.Repeat("a", 280), 280, strings.Repeat("a", 280)},
		{"cut with an ellipsis", strings.Repeat("a", 281), 280, strings.Repeat("a", 279) + "…"},
		{"multibyte runes", long, 10, strings.Repeat("é", 9) + "…"},
		{"escaped text", `line one\nline two \u00e9t\u00e9 ` + strings.Repeat("x", 20), 12, "line one\nli…"},
		{"space before the cut is dropped", "abcd    efgh", 6, "abcd…"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := `{"id":"x:1","text":"` + c.text + `","created_at":"2026-01-01T00:00:00Z","author":"@a","hashtags":[{"tag":"otan","display":"OTAN"}],"extractor_version":1}`
			var md MessageDecoder
			m, err := md.DecodeWithExcerpt([]byte(in), c.runes)
			if err != nil {
				t.Fatal(err)
			}
			if m.Text != c.want {
				t.Errorf("excerpt %q, want %q", m.Text, c.want)
			}
			want, err := DecodeMessageWithoutText([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			m.Text = ""
			if !reflect.DeepEqual(m, want) {
				t.Errorf("decoded %+v, want %+v", m, want)
			}
		})
	}
	var md MessageDecoder
	if _, err := md.DecodeWithExcerpt([]byte(`{"id":"x:1","text":"  ","created_at":"2026-01-01T00:00:00Z","hashtags":[],"extractor_version":1}`), 280); err == nil {
		t.Error("a blank text decoded without error")
	}
}
