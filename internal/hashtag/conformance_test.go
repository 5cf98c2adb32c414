package hashtag

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// conformanceDir holds the twitter-text conformance files the tests read,
// copied verbatim from upstream (testdata/twitter-text/README.md names the
// source, the version and the licence).
const conformanceDir = "testdata/twitter-text"

// conformanceCase is one test case; Expected differs by section.
type conformanceCase struct {
	Description string    `yaml:"description"`
	Text        string    `yaml:"text"`
	Expected    yaml.Node `yaml:"expected"`
}

// loadSection reads one section of a conformance file; a missing file or
// section fails the test.
func loadSection(t *testing.T, file, section string) []conformanceCase {
	t.Helper()
	path := filepath.Join(conformanceDir, file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading conformance file: %v", err)
	}
	var doc struct {
		Tests map[string][]conformanceCase `yaml:"tests"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parsing YAML file %s: %v", path, err)
	}
	cases := doc.Tests[section]
	if len(cases) == 0 {
		t.Fatalf("%s: section %q has no test cases", path, section)
	}
	return cases
}

func originals(occ []Occurrence) []string {
	out := []string{}
	for _, o := range occ {
		out = append(out, o.Original)
	}
	return out
}

func TestConformanceExtract(t *testing.T) {
	for _, section := range []string{"hashtags", "hashtags_from_astral"} {
		t.Run(section, func(t *testing.T) {
			for _, tc := range loadSection(t, "extract.yml", section) {
				t.Run(tc.Description, func(t *testing.T) {
					var want []string
					if err := tc.Expected.Decode(&want); err != nil {
						t.Fatalf("decoding expected: %v", err)
					}
					got := originals(Extract(tc.Text))
					if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", append([]string{}, want...)) {
						t.Errorf("Extract(%q)\n got  %q\n want %q", tc.Text, got, want)
					}
				})
			}
		})
	}
}

func TestConformanceExtractWithIndices(t *testing.T) {
	type entity struct {
		Hashtag string `yaml:"hashtag"`
		Indices [2]int `yaml:"indices"`
	}
	for _, tc := range loadSection(t, "extract.yml", "hashtags_with_indices") {
		t.Run(tc.Description, func(t *testing.T) {
			var want []entity
			if err := tc.Expected.Decode(&want); err != nil {
				t.Fatalf("decoding expected: %v", err)
			}
			// twitter-text indices count code points; ours are byte offsets.
			got := []entity{}
			for _, o := range Extract(tc.Text) {
				got = append(got, entity{
					Hashtag: o.Original,
					Indices: [2]int{utf8.RuneCountInString(tc.Text[:o.Start]), utf8.RuneCountInString(tc.Text[:o.End])},
				})
			}
			if fmt.Sprint(got) != fmt.Sprint(append([]entity{}, want...)) {
				t.Errorf("Extract(%q)\n got  %v\n want %v", tc.Text, got, want)
			}
		})
	}
}

// TestConformanceValidate runs validate.yml's hashtags section: a text is a
// valid hashtag when it is exactly one extracted tag.
func TestConformanceValidate(t *testing.T) {
	for _, tc := range loadSection(t, "validate.yml", "hashtags") {
		t.Run(tc.Description, func(t *testing.T) {
			var want bool
			if err := tc.Expected.Decode(&want); err != nil {
				t.Fatalf("decoding expected: %v", err)
			}
			occ := Extract(tc.Text)
			got := len(occ) == 1 && occ[0].Start == 0 && occ[0].End == len(tc.Text)
			if got != want {
				t.Errorf("valid(%q) = %v, want %v (extracted %q)", tc.Text, got, want, originals(occ))
			}
		})
	}
}

// TestConformanceAutolink runs autolink.yml's hashtags section: it links the
// extracted spans the way twitter-text's autolinker does and compares the
// HTML, which checks both the tags and their spans.
func TestConformanceAutolink(t *testing.T) {
	for _, tc := range loadSection(t, "autolink.yml", "hashtags") {
		t.Run(tc.Description, func(t *testing.T) {
			var want string
			if err := tc.Expected.Decode(&want); err != nil {
				t.Fatalf("decoding expected: %v", err)
			}
			if got := autolink(tc.Text); got != want {
				t.Errorf("autolink(%q)\n got  %s\n want %s", tc.Text, got, want)
			}
		})
	}
}

func autolink(text string) string {
	var b strings.Builder
	last := 0
	for _, o := range Extract(text) {
		class := "tweet-url hashtag"
		if isRTL(o.Original) {
			class += " rtl"
		}
		fmt.Fprintf(&b, `%s<a href="https://twitter.com/search?q=%%23%s" title="#%s" class="%s">%s</a>`,
			text[last:o.Start], o.Original, o.Original, class, text[o.Start:o.End])
		last = o.End
	}
	b.WriteString(text[last:])
	return b.String()
}

// isRTL mirrors twitter-text's RTL_CHARACTERS test.
func isRTL(s string) bool {
	for _, r := range s {
		if (r >= 0x0600 && r <= 0x06FF) || (r >= 0x0750 && r <= 0x077F) || (r >= 0x0590 && r <= 0x05FF) || (r >= 0xFE70 && r <= 0xFEFF) {
			return true
		}
	}
	return false
}
