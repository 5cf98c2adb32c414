package post

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/hashtag"
)

// TestDecodePostRefusesWhatWouldChange checks the posts DecodePost used to
// accept in another form than sent: a lone surrogate escape (was U+FFFD)
// and an explicit zero created_at (was the time of ingestion).
func TestDecodePostRefusesWhatWouldChange(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	opt := DecodeOptions{Now: func() time.Time { return now }}
	tests := []struct {
		name    string
		in      string
		wantErr error
		errHas  string
	}{
		{"lone high surrogate", `{"id":"a","text":"a \ud800 b"}`, ErrInvalidUTF8, `\ud800`},
		{"lone low surrogate", `{"id":"a","text":"a \uDC00"}`, ErrInvalidUTF8, `\uDC00`},
		{"reversed pair", `{"id":"a","text":"\ude80\ud83d"}`, ErrInvalidUTF8, `\ude80`},
		{"high surrogate at the end", `{"id":"a","text":"t","author":"\ud83d"}`, ErrInvalidUTF8, `\ud83d`},
		{"explicit zero created_at", `{"id":"a","text":"t","created_at":"0001-01-01T00:00:00Z"}`, ErrInvalidValue, "before 2000-01-01"},
		{"zero instant in another zone", `{"id":"a","text":"t","created_at":"0001-01-01T01:00:00+01:00"}`, ErrInvalidValue, "created_at"},
		{"zero created_at through the slow path", `{"id":"a","text":"t\n","created_at":"0001-01-01T00:00:00Z","x":1.5}`, ErrInvalidValue, "created_at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := DecodePost([]byte(tt.in), opt)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(fmt.Sprint(err), tt.errHas) {
				t.Fatalf("DecodePost = %+v, %v; want %v saying %q", p, err, tt.wantErr, tt.errHas)
			}
		})
	}
	for _, ok := range []string{
		`{"id":"a","text":"\ud83d\ude80 \\ud800 is written \\\\ud800"}`,
		`{"id":"a","text":"t","created_at":null}`,
		`{"id":"a","text":"t"}`,
	} {
		p, err := DecodePost([]byte(ok), opt)
		if err != nil {
			t.Errorf("DecodePost(%s): %v", ok, err)
			continue
		}
		if !p.CreatedAt.Equal(now) {
			t.Errorf("DecodePost(%s): created_at %s, want now", ok, p.CreatedAt)
		}
	}
}

// TestDecodeMessageBounds checks that the aggregator's decoding holds a
// message to the bounds ingest makes tags and dates with, so a message
// of another producer that breaks them is dead-lettered with a reason.
func TestDecodeMessageBounds(t *testing.T) {
	msg := func(created string, tags ...string) string {
		hs := make([]string, len(tags))
		for i, tg := range tags {
			hs[i] = fmt.Sprintf(`{"tag":%q,"display":%q}`, tg, tg)
		}
		return fmt.Sprintf(`{"id":"a","text":"t","created_at":%q,"hashtags":[%s],"extractor_version":1}`, created, strings.Join(hs, ","))
	}
	many := make([]string, hashtag.MaxTagsPerPost+1)
	for i := range many {
		many[i] = fmt.Sprint("t", i)
	}
	now := time.Now().UTC()
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{"ordinary", msg("2025-11-05T09:00:00Z", "otan"), nil},
		{"tags at the bound", msg("2025-11-05T09:00:00Z", many[:hashtag.MaxTagsPerPost]...), nil},
		{"tag at the length limit", msg("2025-11-05T09:00:00Z", strings.Repeat("a", hashtag.MaxTagBytes)), nil},
		{"tomorrow within the skew limit", msg(now.Add(MaxFutureSkewLimit-time.Hour).Format(time.RFC3339), "x"), nil},
		{"too many tags", msg("2025-11-05T09:00:00Z", many...), ErrTooLarge},
		{"tag too long", msg("2025-11-05T09:00:00Z", strings.Repeat("a", hashtag.MaxTagBytes+1)), ErrTooLarge},
		{"year 9999", msg("9999-01-01T00:00:00Z", "x"), ErrInvalidValue},
		{"two days ahead", msg(now.Add(48*time.Hour).Format(time.RFC3339), "x"), ErrInvalidValue},
		{"year 1", msg("0001-01-02T00:00:00Z", "x"), ErrInvalidValue},
		{"1999", msg("1999-12-31T23:59:59Z", "x"), ErrInvalidValue},
		{"producer tags", withProducer(msg("2025-11-05T09:00:00Z", "x"), `"X","Réarmement"`), nil},
		{"producer tags at the bounds", withProducer(msg("2025-11-05T09:00:00Z", "x"), quoted(many[:hashtag.MaxTagsPerPost])), nil},
		{"too many producer tags", withProducer(msg("2025-11-05T09:00:00Z", "x"), quoted(many)), ErrTooLarge},
		{"producer tag too long", withProducer(msg("2025-11-05T09:00:00Z", "x"), quoted([]string{strings.Repeat("a", hashtag.MaxTagBytes+1)})), ErrTooLarge},
		{"producer tag with a space", withProducer(msg("2025-11-05T09:00:00Z", "x"), `"a b"`), ErrInvalidValue},
		{"producer tags not strings", withProducer(msg("2025-11-05T09:00:00Z", "x"), `1`), ErrWrongType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var md MessageDecoder
			for name, decode := range map[string]func([]byte) (Message, error){
				"DecodeMessage": DecodeMessage, "MessageDecoder": md.DecodeWithoutText,
			} {
				_, err := decode([]byte(tt.in))
				if (tt.wantErr == nil) != (err == nil) || (err != nil && !errors.Is(err, tt.wantErr)) {
					t.Errorf("%s: error %v, want %v", name, err, tt.wantErr)
				}
			}
		})
	}
}

// withProducer adds producer_hashtags (the JSON of its elements) to a
// message.
func withProducer(msg, elems string) string {
	return strings.TrimSuffix(msg, "}") + `,"producer_hashtags":[` + elems + "]}"
}

// quoted gives tags as the JSON of array elements.
func quoted(tags []string) string {
	q := make([]string, len(tags))
	for i, t := range tags {
		q[i] = fmt.Sprintf("%q", t)
	}
	return strings.Join(q, ",")
}

func TestCheckCreatedAt(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		t    time.Time
		skew time.Duration
		ok   bool
	}{
		{MinCreatedAt, time.Minute, true},
		{MinCreatedAt.Add(-time.Second), time.Minute, false},
		{now.Add(time.Minute), time.Minute, true},
		{now.Add(time.Minute + time.Second), time.Minute, false},
		{time.Time{}, time.Hour, false},
	}
	for _, tt := range tests {
		err := CheckCreatedAt(tt.t, now, tt.skew)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidValue)) {
			t.Errorf("CheckCreatedAt(%s, skew %s) = %v, want ok=%v", tt.t, tt.skew, err, tt.ok)
		}
	}
}
