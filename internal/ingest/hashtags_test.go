package ingest

import (
	"strings"
	"testing"

	"tagpulse/internal/hashtag"
	"tagpulse/internal/post"
)

// TestAppendHashtagsMergesKnownTags checks how a producer's tags join the
// extracted ones: canonicalised alike, counted once, after the text's, and
// within the same bounds.
func TestAppendHashtagsMergesKnownTags(t *testing.T) {
	many := make([]string, hashtag.MaxTagsPerPost)
	for i := range many {
		many[i] = "#t" + strings.Repeat("x", i)
	}
	tests := []struct {
		name    string
		text    string
		known   []string
		want    string // tag=display, space-separated
		dropped hashtag.Dropped
	}{
		{"none", "#Otan", nil, "otan=Otan", hashtag.Dropped{}},
		{"only known", "no tags here", []string{"#Réarmement", "drone"}, "rearmement=Réarmement drone=drone", hashtag.Dropped{}},
		{"the text's spelling first", "#OTAN", []string{"otan", "#Otan"}, "otan=OTAN", hashtag.Dropped{}},
		{"fullwidth sign and letters", "", []string{"＃ＯＴＡＮ"}, "otan=ＯＴＡＮ", hashtag.Dropped{}},
		{"too long", "#a", []string{strings.Repeat("b", hashtag.MaxTagBytes+1)}, "a=a", hashtag.Dropped{TooLong: 1}},
		{"at the length limit", "", []string{strings.Repeat("b", hashtag.MaxTagBytes)}, "", hashtag.Dropped{}},
		{"too many together", "#first", many, "", hashtag.Dropped{TooMany: 1}},
		{"only accents: no key", "", []string{"\u0301\u0301"}, "", hashtag.Dropped{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dropped := AppendHashtags(nil, tt.text, tt.known)
			if dropped != tt.dropped {
				t.Errorf("dropped %+v, want %+v", dropped, tt.dropped)
			}
			if len(got) > hashtag.MaxTagsPerPost {
				t.Fatalf("%d tags, over the bound %d", len(got), hashtag.MaxTagsPerPost)
			}
			if tt.want == "" {
				return // only the counts are checked
			}
			var parts []string
			for _, h := range got {
				parts = append(parts, h.Tag+"="+h.Display)
			}
			if s := strings.Join(parts, " "); s != tt.want {
				t.Errorf("tags %q, want %q", s, tt.want)
			}
		})
	}
	// The bound counts both kinds: the text's tag comes first and stays.
	got, _ := AppendHashtags(nil, "#first", many)
	if len(got) != hashtag.MaxTagsPerPost || got[0] != (post.Hashtag{Tag: "first", Display: "first"}) {
		t.Fatalf("got %d tags starting %+v", len(got), got[0])
	}
}
