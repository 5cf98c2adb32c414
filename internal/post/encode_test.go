package post

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestAppendMessageMatchesMarshal(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		m    Message
	}{
		{"typical", Message{Post: Post{ID: "rss:1", Text: "#Réarmement et #OTAN 🚀", CreatedAt: time.Date(2026, 3, 1, 10, 15, 42, 0, time.UTC), Source: "rss", Lang: "fr"},
			Hashtags: []Hashtag{{"rearmement", "Réarmement"}, {"otan", "OTAN"}}, ExtractorVersion: 1}},
		{"escapes", Message{Post: Post{ID: "a\"b\\c", Text: "<b>&amp;</b>\n\t\r\b\f\x00\x1f\u2028\u2029 \x7f", CreatedAt: time.Date(2026, 3, 1, 10, 15, 42, 123456000, paris), Author: "x", URL: "https://e.org/?a=1&b=2"},
			Hashtags: []Hashtag{}, ExtractorVersion: 12}},
		{"invalid UTF-8", Message{Post: Post{ID: "\xff", Text: "a\xc3(b\xed\xa0\x80"}, ExtractorVersion: -3}},
		{"nil hashtags", Message{Post: Post{ID: "a", Text: "t", CreatedAt: time.Unix(0, 1)}}},
		{"producer tags", Message{Post: Post{ID: "a", Text: "t", Tags: []string{"#x"}}, Hashtags: []Hashtag{{"x", "x"}}, ProducerTags: []string{"Réarmement", "<&>", "\xff"}}},
		{"empty producer tags", Message{Post: Post{ID: "a", Text: "t"}, ProducerTags: []string{}}},
		{"tombstone", Message{Post: Tombstone("masto:1", time.Time{})}},
		{"tombstone with its time", Message{Post: Tombstone("masto:1", time.Date(2026, 3, 1, 10, 15, 42, 0, time.UTC))}},
		{"not indexable", Message{Post: Post{ID: "a", Text: "t", Author: "@a", Indexable: new(bool)}, Hashtags: []Hashtag{{"x", "x"}}}},
		{"indexable", Message{Post: Post{ID: "a", Text: "t", Indexable: &[]bool{true}[0]}}},
		{"bot", Message{Post: Post{ID: "a", Text: "t", Bot: true, Indexable: new(bool)}, Hashtags: []Hashtag{{"x", "x"}}}},
		{"visibility", Message{Post: Post{ID: "a", Text: "t", Indexable: new(bool), Visibility: "unlisted"}}},
		{"visibility escaped", Message{Post: Post{ID: "a", Text: "t", Visibility: "<\xff>"}}},
		{"bot and visibility", Message{Post: Post{ID: "a", Text: "t", Bot: true, Visibility: "public"}}},
		// Around the 2- and 3-byte fast paths: the edges of each lead byte's
		// range, E2 sequences next to U+2028/U+2029, and invalid ones.
		{"multi-byte", Message{Post: Post{ID: "m", Text: "é ß ’ … — ＃ 日本 한국 عربي हिन्दी \u0080 \u07ff \u0800 \u0fff \u1000 \ud7ff \ue000 \ufeff \uffff \u2027\u2028\u2029\u202a \U0001F680"}}},
		{"invalid multi-byte", Message{Post: Post{ID: "i", Text: "\xc2 \xc2\x41 \xdf\xc0 \xe0\x80\x80 \xe1\x80 \xe1\x80\x41 \xec\xbf \xed\xa0\x80 \xee\x80 \xef\xbf \xe2\x80 \xe2\x80\xa8\xa9 \xf0\x80\x80\x80 \xc0\xaf"}}},
	}
	// Texts long enough for the verbatim check: clean, then with each
	// character it must find at the start, the middle and the end.
	long := strings.Repeat("Réarmement 日本 ", 4)
	tests = append(tests, struct {
		name string
		m    Message
	}{"long verbatim", Message{Post: Post{ID: "v", Text: long}}})
	for _, c := range []string{"\"", "\\", "<", ">", "&", "\n", "\x00", "\x1f", "\u2028", "\u2029", "\xff", "\xe2", "\xe2\x80", "\xe2\x80\xa8", "\xed\xa0\x80"} {
		for _, text := range []string{c + long, long[:20] + c + long[20:], long + c} {
			tests = append(tests, struct {
				name string
				m    Message
			}{fmt.Sprintf("long with %q", c), Message{Post: Post{ID: "v", Text: text}}})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkEncode(t, &tt.m) })
	}
}

func checkEncode(t *testing.T, m *Message) {
	t.Helper()
	want, wantErr := json.Marshal(m)
	got, err := AppendMessage([]byte("prefix"), m)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("error %v, json.Marshal's %v", err, wantErr)
	}
	if err == nil && !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("AppendMessage wrote\n%s\njson.Marshal\n%s", got[len("prefix"):], want)
	}
}

func FuzzAppendMessage(f *testing.F) {
	f.Add("id", "text <&> \u2028 \xff", "fr", "tag", "Tâg", int64(1700000000), int64(5), 3, 0)
	f.Add("", "", "", "", "", int64(-62135596800), int64(0), 0, -3600)
	f.Add("long", strings.Repeat("texte réarmé ", 5)+"\u2029", "fr", "t", "T", int64(1), int64(0), 1, 0)
	f.Fuzz(func(t *testing.T, id, text, lang, tag, display string, sec, nsec int64, version, offset int) {
		m := Message{
			Post:             Post{ID: id, Text: text, Lang: lang, Source: display, CreatedAt: time.Unix(sec, nsec).In(time.FixedZone("z", offset))},
			Hashtags:         []Hashtag{{Tag: tag, Display: display}},
			ExtractorVersion: version,
		}
		if tag != "" {
			m.ProducerTags = []string{display, tag}
		}
		checkEncode(t, &m)
	})
}
