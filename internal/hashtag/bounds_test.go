package hashtag

import (
	"fmt"
	"strings"
	"testing"
)

// TestAppendDistinctBounds checks the bounds on a post's tags: a tag over
// MaxTagBytes (key or spelling) is dropped whole, never cut, and only the
// first MaxTagsPerPost distinct tags are kept; each dropped tag is counted
// once, under its reason.
func TestAppendDistinctBounds(t *testing.T) {
	many := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "#t%d ", i)
		}
		return b.String()
	}
	long := strings.Repeat("a", MaxTagBytes+1)
	atLimit := strings.Repeat("b", MaxTagBytes)
	// "ﬃ" is 3 bytes and folds to "ffi", 3 bytes; U+FDFA (18 bytes of key
	// from 3 bytes written) makes a key over the limit from a short tag.
	wideKey := strings.Repeat("\uFDFA", 15)
	tests := []struct {
		name      string
		text      string
		wantTags  int
		wantFirst string
		want      Dropped
	}{
		{"tag at the limit kept", "#" + atLimit, 1, atLimit, Dropped{}},
		{"tag over the limit dropped, not cut", "#" + long + " #ok", 1, "ok", Dropped{TooLong: 1}},
		{"repeated long tag counted per occurrence", "#" + long + " #" + long, 0, "", Dropped{TooLong: 2}},
		{"key over the limit from a short spelling", "#" + wideKey, 0, "", Dropped{TooLong: 1}},
		{"bound on tags per post", many(MaxTagsPerPost + 5), MaxTagsPerPost, "t0", Dropped{TooMany: 5}},
		{"repeats past the bound counted once", many(MaxTagsPerPost+2) + many(MaxTagsPerPost+2), MaxTagsPerPost, "t0", Dropped{TooMany: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dropped := AppendDistinct(nil, Extract(tt.text))
			if len(got) != tt.wantTags || dropped != tt.want {
				t.Fatalf("%d tags, dropped %+v; want %d, %+v", len(got), dropped, tt.wantTags, tt.want)
			}
			if len(got) > 0 && got[0].Tag != tt.wantFirst {
				t.Errorf("first tag %q, want %q", got[0].Tag, tt.wantFirst)
			}
			for _, tg := range got {
				if len(tg.Tag) > MaxTagBytes || len(tg.Display) > MaxTagBytes {
					t.Errorf("kept a tag of %d/%d bytes", len(tg.Tag), len(tg.Display))
				}
			}
			if d := Distinct(tt.text); len(d) != len(got) {
				t.Errorf("Distinct kept %d tags, AppendDistinct %d", len(d), len(got))
			}
		})
	}
}
