package source

import (
	"slices"
	"strings"
	"testing"

	"tagpulse/internal/hashtag"
)

func TestPlatformTags(t *testing.T) {
	many := make([]string, hashtag.MaxTagsPerPost+5)
	for i := range many {
		many[i] = "t" + strings.Repeat("x", i)
	}
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"none", nil, nil},
		{"the platform's spelling, once by key", []string{"OTAN", "otan", "#Otan", "Réarmement", "REARMEMENT"}, []string{"OTAN", "Réarmement"}},
		{"Mastodon's leading underscore and middle dot", []string{"_sommet·otan"}, []string{"_sommet·otan"}},
		{"spaces, controls and empty ones left out", []string{"two words", "tab\there", "", " ", "#", "ok"}, []string{"ok"}},
		{"bounded", many, many[:hashtag.MaxTagsPerPost]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := platformTags(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("platformTags(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
