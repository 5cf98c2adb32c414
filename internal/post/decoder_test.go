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

// Tombstones and the indexable flag decode the same on the fast path and
// through encoding/json (a key in another case falls back to it), in posts
// and in messages.
func TestTombstonesAndIndexable(t *testing.T) {
	for _, c := range []struct {
		name      string
		in        string
		deleted   bool
		indexable string // "", "true", "false"
		zeroTime  bool
		wantErr   bool
	}{
		{"tombstone", `{"id":"masto:1","deleted":true}`, true, "", true, false},
		{"tombstone, slow path", `{"ID":"masto:1","Deleted":true}`, true, "", true, false},
		{"tombstone with its time", `{"id":"masto:1","deleted":true,"created_at":"2026-01-01T00:00:00Z"}`, true, "", false, false},
		{"deleted false is a post", `{"id":"masto:1","deleted":false,"text":"t","created_at":"2026-01-01T00:00:00Z"}`, false, "", false, false},
		{"not indexable", `{"id":"a","text":"t","created_at":"2026-01-01T00:00:00Z","indexable":false}`, false, "false", false, false},
		{"not indexable, slow path", `{"id":"a","text":"t","created_at":"2026-01-01T00:00:00Z","Indexable":false}`, false, "false", false, false},
		{"indexable", `{"id":"a","text":"t","created_at":"2026-01-01T00:00:00Z","indexable":true}`, false, "true", false, false},
		{"a bot's post", `{"id":"a","text":"t","created_at":"2026-01-01T00:00:00Z","bot":true}`, false, "", false, false},
		{"deleted not a bool", `{"id":"a","deleted":"yes"}`, false, "", false, true},
		{"bot not a bool", `{"id":"a","text":"t","bot":1}`, false, "", false, true},
		{"tombstone without id", `{"deleted":true}`, false, "", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := DecodePost([]byte(c.in), DecodeOptions{})
			if (err != nil) != c.wantErr {
				t.Fatalf("DecodePost error %v, want error %v", err, c.wantErr)
			}
			if err != nil {
				return
			}
			idx := ""
			if p.Indexable != nil {
				idx = fmt.Sprint(*p.Indexable)
			}
			if p.Deleted != c.deleted || idx != c.indexable || p.CreatedAt.IsZero() != c.zeroTime {
				t.Errorf("decoded deleted %v indexable %q zero time %v, want %v %q %v", p.Deleted, idx, p.CreatedAt.IsZero(), c.deleted, c.indexable, c.zeroTime)
			}
			if p.AllowsIndexing() != (c.indexable != "false") {
				t.Errorf("AllowsIndexing() = %v", p.AllowsIndexing())
			}
			// Through Kafka: encoded as ingest does, decoded as aggregate
			// does, it is the same post.
			m := Message{Post: p, Hashtags: []Hashtag{}, ExtractorVersion: 1}
			if !p.Deleted {
				m.Hashtags = []Hashtag{{"x", "x"}}
			}
			b, err := AppendMessage(nil, &m)
			if err != nil {
				t.Fatal(err)
			}
			var md MessageDecoder
			got, err := md.DecodeWithExcerpt(b, MaxExcerptRunes)
			if err != nil {
				t.Fatalf("decoding %s: %v", b, err)
			}
			if got.Deleted != p.Deleted || got.AllowsIndexing() != p.AllowsIndexing() || !got.CreatedAt.Equal(p.CreatedAt) || got.Bot != p.Bot {
				t.Errorf("through Kafka %s: %+v, want %+v", b, got.Post, p)
			}
		})
	}
	if _, err := DecodeMessage([]byte(`{"id":"a","deleted":true,"hashtags":[{"tag":"x","display":"x"}],"extractor_version":1}`)); err == nil {
		t.Error("a tombstone with hashtags decoded without error")
	}
}

// Visibility decodes the same on the fast path and through encoding/json;
// a value that is none of Mastodon's four is refused, and only a post
// without one or with "public" is public.
func TestVisibility(t *testing.T) {
	for _, c := range []struct {
		name, in string
		public   bool
		reason   string // the reject reason, when refused
	}{
		{"absent", `{"id":"a","text":"t"}`, true, ""},
		{"public", `{"id":"a","text":"t","visibility":"public"}`, true, ""},
		{"unlisted", `{"id":"a","text":"t","visibility":"unlisted"}`, false, ""},
		{"private, slow path", `{"id":"a","text":"t","Visibility":"private"}`, false, ""},
		{"direct", `{"id":"a","text":"t","visibility":"direct"}`, false, ""},
		{"unknown", `{"id":"a","text":"t","visibility":"friends"}`, false, "invalid_value"},
		{"case matters", `{"id":"a","text":"t","visibility":"Public"}`, false, "invalid_value"},
		{"not a string", `{"id":"a","text":"t","visibility":true}`, false, "wrong_type"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := DecodePost([]byte(c.in), DecodeOptions{})
			if c.reason != "" {
				if Reason(err) != c.reason {
					t.Fatalf("error %v, want reason %s", err, c.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.IsPublic() != c.public {
				t.Errorf("IsPublic() = %v for %q, want %v", p.IsPublic(), p.Visibility, c.public)
			}
		})
	}
}
