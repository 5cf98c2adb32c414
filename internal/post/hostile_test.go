package post

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestDecodePostHostile feeds the decoder what a careless or hostile
// producer sends: each input is refused with the reason a user sees, in
// bounded time.
func TestDecodePostHostile(t *testing.T) {
	deep := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
	tests := []struct {
		name    string
		in      string
		wantErr error
		errHas  string
	}{
		{"deeply nested unknown field", `{"id":"a","text":"t","extra":` + deep + `}`, ErrInvalidJSON, "depth"},
		{"deeply nested document", deep, ErrInvalidJSON, "not a JSON object"},
		{"10 MB text", `{"id":"a","text":"` + strings.Repeat("#x ", 10<<20/3) + `"}`, ErrTooLarge, "field text"},
		{"10 MB id", `{"id":"` + strings.Repeat("i", 10<<20) + `","text":"t"}`, ErrTooLarge, "field id"},
		{"text is an array", `{"id":"a","text":["#otan"]}`, ErrWrongType, "field text"},
		{"id is an object", `{"id":{"n":1},"text":"t"}`, ErrWrongType, "field id"},
		{"created_at is a number", `{"id":"a","text":"t","created_at":1730000000}`, ErrWrongType, "field created_at"},
		{"null id", `{"id":null,"text":"t"}`, ErrMissingField, "field id"},
		{"blank text", `{"id":"a","text":"  \n"}`, ErrMissingField, "field text"},
		{"truncated", `{"id":"a","text":"#ot`, ErrInvalidJSON, ""},
		{"trailing garbage", `{"id":"a","text":"t"} {"id":"b"}`, ErrInvalidJSON, ""},
		{"invalid UTF-8 in a key", "{\"i\xc3\":\"a\",\"id\":\"a\",\"text\":\"t\"}", ErrInvalidUTF8, ""},
		{"overlong UTF-8 encoding", "{\"id\":\"a\",\"text\":\"\xc0\xaf\"}", ErrInvalidUTF8, ""},
		{"UTF-16 surrogate half", "{\"id\":\"a\",\"text\":\"\xed\xa0\x80\"}", ErrInvalidUTF8, ""},
		{"empty", ``, ErrInvalidJSON, ""},
		{"JSON null", `null`, ErrInvalidJSON, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := DecodePost([]byte(tt.in), DecodeOptions{})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not say %q", err, tt.errHas)
			}
			if len(err.Error()) > 1024 {
				t.Errorf("error of %d bytes echoes the input; want a short reason", len(err.Error()))
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

// FuzzDecodePost checks the decoder's promises on any input: it never
// panics; a refusal wraps one of the documented reasons; an accepted post
// has an id and a text within the limits, is valid UTF-8 and decodes to
// itself again after encoding.
func FuzzDecodePost(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","text":"#OTAN et #Réarmement","created_at":"2025-11-05T09:00:00Z","lang":"fr"}`,
		`{"id":"a","text":"t","extra":{"x":[1,2,{"y":null}]}}`,
		`{"id":7,"text":"t"}`, `{"id":"a"}`, `[{"id":"a","text":"t"}]`, "{\"id\":\"a\",\"text\":\"\xff\"}",
		`{"id":"a","text":"t","created_at":"yesterday"}`, `  {"id":" ","text":"t"}  `, `{"id":"a","text":"\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	fixed := time.Date(2025, 11, 6, 10, 0, 0, 0, time.UTC)
	opt := DecodeOptions{MaxTextBytes: 256, Now: func() time.Time { return fixed }}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodePost(data, opt)
		if err != nil {
			if Reason(err) == "other" {
				t.Fatalf("error %v wraps none of the documented reasons", err)
			}
			return
		}
		if strings.TrimSpace(p.ID) == "" || strings.TrimSpace(p.Text) == "" || len(p.ID) > MaxIDBytes || len(p.Text) > 256 {
			t.Fatalf("accepted a post outside the limits: %+v", p)
		}
		for _, s := range []string{p.ID, p.Text, p.Source, p.Author, p.URL, p.Lang} {
			if !utf8.ValidString(s) {
				t.Fatalf("accepted invalid UTF-8: %q", s)
			}
		}
		if p.CreatedAt.IsZero() {
			t.Fatal("accepted post has no created_at")
		}
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := DecodePost(again, opt)
		if err != nil || !q.CreatedAt.Equal(p.CreatedAt) {
			t.Fatalf("re-decoding %s: %+v, %v; want %+v", again, q, err, p)
		}
		q.CreatedAt = p.CreatedAt
		if !reflect.DeepEqual(q, p) {
			t.Fatalf("re-decoding %s: %+v, want %+v", again, q, p)
		}
	})
}
