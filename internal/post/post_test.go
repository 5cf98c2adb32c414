package post

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodePost(t *testing.T) {
	fixed := time.Date(2025, 11, 6, 10, 0, 0, 0, time.UTC)
	opt := DecodeOptions{MaxTextBytes: 64, Now: func() time.Time { return fixed }}
	tests := []struct {
		name    string
		in      string
		want    Post
		wantErr error
		errHas  string
	}{
		{name: "full", in: `{"id":"a","text":"#x","created_at":"2025-11-05T09:00:00Z","source":"rss","lang":"fr","extra":1}`,
			want: Post{ID: "a", Text: "#x", CreatedAt: time.Date(2025, 11, 5, 9, 0, 0, 0, time.UTC), Source: "rss", Lang: "fr"}},
		{name: "created_at defaults to now", in: `{"id":"a","text":"t"}`, want: Post{ID: "a", Text: "t", CreatedAt: fixed}},
		{name: "not an object", in: `["a"]`, wantErr: ErrInvalidJSON},
		{name: "malformed", in: `{"id":"a",`, wantErr: ErrInvalidJSON},
		{name: "wrong type names the field", in: `{"id":7,"text":"t"}`, wantErr: ErrWrongType, errHas: "field id"},
		{name: "missing text", in: `{"id":"a"}`, wantErr: ErrMissingField, errHas: "field text"},
		{name: "missing id", in: `{"text":"a"}`, wantErr: ErrMissingField, errHas: "field id"},
		{name: "invalid utf-8", in: "{\"id\":\"a\",\"text\":\"\xff\"}", wantErr: ErrInvalidUTF8},
		{name: "text too large", in: `{"id":"a","text":"` + strings.Repeat("x", 65) + `"}`, wantErr: ErrTooLarge},
		{name: "bad time", in: `{"id":"a","text":"t","created_at":"yesterday"}`, wantErr: ErrInvalidValue, errHas: "2025-11-05T09:00:00Z"},
		{name: "epoch seconds refused", in: `{"id":"a","text":"t","created_at":1762333200}`, wantErr: ErrWrongType, errHas: "epoch times are not accepted"},
		{name: "epoch milliseconds refused", in: `{"id":"a","text":"t","created_at":1762333200000}`, wantErr: ErrWrongType, errHas: "field created_at"},
		{name: "epoch as a string refused", in: `{"id":"a","text":"t","created_at":"1762333200"}`, wantErr: ErrInvalidValue, errHas: "not RFC 3339"},
		{name: "producer hashtags", in: `{"id":"a","text":"t","hashtags":["#Otan","réarmement","＃Ｘ"]}`,
			want: Post{ID: "a", Text: "t", CreatedAt: fixed, Tags: []string{"#Otan", "réarmement", "＃Ｘ"}}},
		{name: "producer hashtags through the slow path", in: `{"id":"a","text":"t","hashtags":["x\u00e9"],"n":1.5}`,
			want: Post{ID: "a", Text: "t", CreatedAt: fixed, Tags: []string{"xé"}}},
		{name: "hashtags not strings", in: `{"id":"a","text":"t","hashtags":[{"tag":"x"}]}`, wantErr: ErrWrongType, errHas: "field hashtags"},
		{name: "hashtags not an array", in: `{"id":"a","text":"t","hashtags":"x"}`, wantErr: ErrWrongType, errHas: "field hashtags"},
		{name: "empty hashtag", in: `{"id":"a","text":"t","hashtags":["x","#"]}`, wantErr: ErrInvalidValue, errHas: "field hashtags[1]: empty tag"},
		{name: "hashtag with a space", in: `{"id":"a","text":"t","hashtags":["two words"]}`, wantErr: ErrInvalidValue, errHas: "white space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodePost([]byte(tt.in), opt)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("error %q does not name %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReason(t *testing.T) {
	_, err := DecodePost([]byte(`{"id":1}`), DecodeOptions{})
	if got := Reason(err); got != "wrong_type" {
		t.Fatalf("Reason = %q, want wrong_type", got)
	}
	if got := Reason(errors.New("x")); got != "other" {
		t.Fatalf("Reason = %q, want other", got)
	}
}

func TestDecodeMessageNeedsCreatedAt(t *testing.T) {
	_, err := DecodeMessage([]byte(`{"id":"a","text":"t","hashtags":[]}`))
	if !errors.Is(err, ErrMissingField) {
		t.Fatalf("got %v, want ErrMissingField", err)
	}
	m, err := DecodeMessage([]byte(`{"id":"a","text":"t","created_at":"2025-11-05T09:00:00Z","hashtags":[{"tag":"otan","display":"OTAN"}],"extractor_version":1}`))
	if err != nil || len(m.Hashtags) != 1 || m.Hashtags[0].Display != "OTAN" || m.ExtractorVersion != 1 {
		t.Fatalf("got %+v, %v", m, err)
	}
}

func TestContentIDIsStable(t *testing.T) {
	if ContentID("text", "hello") != ContentID("text", "hello") || ContentID("text", "hello") == ContentID("text", "hello!") {
		t.Fatal("ContentID must be a function of the content")
	}
	if got := ContentID("text", "hello"); !strings.HasPrefix(got, "text:") || len(got) != 5+32 {
		t.Fatalf("unexpected shape %q", got)
	}
}
