package hashtag

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"ascii lower", "nato", "nato"},
		{"ascii upper", "NIF2025", "nif2025"},
		{"French accent", "Réarmement", "rearmement"},
		{"French upper accent", "RÉARMEMENT", "rearmement"},
		{"French NFD", "Re\u0301armement", "rearmement"},
		{"French plain", "rearmement", "rearmement"},
		{"French ligature oe", "ŒUVRE", "œuvre"},
		{"German sharp s", "Straße", "strasse"},
		{"German capital sharp s", "STRAẞE", "strasse"},
		{"German umlaut", "München", "munchen"},
		{"Turkish dotted capital I", "İstanbul", "istanbul"},
		{"Turkish dotless i stays", "ılık", "ılık"},
		{"Turkish cedilla", "Ateş", "ates"},
		{"Greek final sigma upper", "ΟΔΟΣ", "οδοσ"},
		{"Greek final sigma lower", "οδός", "οδοσ"},
		{"Greek underscore", "Μαχάτμα_Γκάντι", "μαχατμα_γκαντι"},
		{"Greek ypogegrammeni", "ᾼ", "αι"},
		{"Arabic", "السياسة", "السياسة"},
		{"Arabic harakat kept", "مَرْحَبًا", "مَرْحَبًا"},
		{"Arabic presentation form", "\uFEFB", "لا"},
		{"Persian ZWNJ kept", "می\u200cخواهم", "می\u200cخواهم"},
		{"Hindi vowel signs kept", "महात्मा_गांधी", "महात्मा_गांधी"},
		{"Hindi nukta kept", "क़िला", "क़िला"},
		{"Japanese halfwidth katakana", "ﾄﾞﾛｰﾝ", "ドローン"},
		{"Japanese voiced marks kept", "ドローン", "ドローン"},
		{"Japanese semi-voiced halfwidth", "ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ", "パピプペポ"},
		{"Japanese hiragana", "がっこう", "がっこう"},
		{"Korean stays composed", "트위터", "트위터"},
		{"Korean NFD input composes", "\u1110\u1173\u110b\u1171\u1110\u1165", "트위터"},
		{"Vietnamese", "Việt_Nam", "viet_nam"},
		{"Vietnamese d with stroke", "Đà_Nẵng", "đa_nang"},
		{"fullwidth Latin", "ＯＴＡＮ", "otan"},
		{"fullwidth digits", "ｈａｓｈｔａｇ１２３", "hashtag123"},
		{"ligature fi", "ﬁnance", "finance"},
		{"soft hyphen dropped", "Ré\u00ADarmement", "rearmement"},
		{"Cyrillic", "Ашок", "ашок"},
		{"only accents", "\u0301\u0302", ""},
		{"invalid UTF-8", "a\xffB", "a\uFFFDb"},
		{"Cherokee folds to upper case", "Ꭷꭷᏸ", "ᎧᎧᏰ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Canonical(tt.in)
			if got != tt.want {
				t.Errorf("Canonical(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := Canonical(got); again != got {
				t.Errorf("Canonical(%q) = %q, not idempotent", got, again)
			}
		})
	}
}

// occ is an occurrence in the tables: the span's text, Original, Canonical.
type occ struct{ span, orig, canon string }

func spans(text string, got []Occurrence) []occ {
	out := []occ{}
	for _, o := range got {
		out = append(out, occ{text[o.Start:o.End], o.Original, o.Canonical})
	}
	return out
}

func TestExtract(t *testing.T) {
	tests := []struct {
		name, text string
		want       []occ
	}{
		{"plain", "a #tag here", []occ{{"#tag", "tag", "tag"}}},
		{"LinkedIn form", "( hashtag#NIF2025 )", []occ{{"#NIF2025", "NIF2025", "nif2025"}}},
		{"LinkedIn upper case", "HASHTAG#OTAN,Hashtag#UE", []occ{{"#OTAN", "OTAN", "otan"}, {"#UE", "UE", "ue"}}},
		{"LinkedIn at start", "hashtag#Réarmement", []occ{{"#Réarmement", "Réarmement", "rearmement"}}},
		{"LinkedIn fullwidth hash", "hashtag＃otan", []occ{{"＃otan", "otan", "otan"}}},
		{"glued word is not the LinkedIn form", "myhashtag#x hashtags#y", []occ{}},
		{"LinkedIn form after ampersand", "&hashtag#x", []occ{}},
		{"fullwidth hash", "＃ＯＴＡＮ！", []occ{{"＃ＯＴＡＮ", "ＯＴＡＮ", "otan"}}},
		{"soft hyphen inside", "#Réar\u00ADmement", []occ{{"#Réar\u00ADmement", "Réarmement", "rearmement"}}},
		{"word joiner inside", "#NIF\u20602025", []occ{{"#NIF\u20602025", "NIF2025", "nif2025"}}},
		{"zero width space after hash", "#\u200BOTAN", []occ{{"#\u200BOTAN", "OTAN", "otan"}}},
		{"BOM before hash", "\uFEFF#otan", []occ{{"#otan", "otan", "otan"}}},
		{"zero width space before hash", "mot\u200B#otan", []occ{{"#otan", "otan", "otan"}}},
		{"trailing invisible outside span", "#otan\u200B et", []occ{{"#otan", "otan", "otan"}}},
		{"only invisible", "#\u200B\u00AD x", []occ{}},
		{"keycap emoji", "#️⃣ 1 #⃣x", []occ{}},
		{"emoji before", "🚀#launch ✌️#peace", []occ{{"#launch", "launch", "launch"}, {"#peace", "peace", "peace"}}},
		{"emoji after", "#otan🇫🇷", []occ{{"#otan", "otan", "otan"}}},
		{"French", "Vive la #Souveraineté!", []occ{{"#Souveraineté", "Souveraineté", "souverainete"}}},
		{"French NFD", "#Re\u0301armement", []occ{{"#Re\u0301armement", "Re\u0301armement", "rearmement"}}},
		{"German", "in der #Straße.", []occ{{"#Straße", "Straße", "strasse"}}},
		{"Turkish", "#İstanbul #ılık", []occ{{"#İstanbul", "İstanbul", "istanbul"}, {"#ılık", "ılık", "ılık"}}},
		{"Greek final sigma", "#ΟΔΟΣ #οδός", []occ{{"#ΟΔΟΣ", "ΟΔΟΣ", "οδοσ"}, {"#οδός", "οδός", "οδοσ"}}},
		{"Arabic", "مرحبا #السياسة، #لس_آنجلس", []occ{{"#السياسة", "السياسة", "السياسة"}, {"#لس_آنجلس", "لس_آنجلس", "لس_آنجلس"}}},
		{"Hindi", "#महात्मा_गांधी जी", []occ{{"#महात्मा_गांधी", "महात्मा_गांधी", "महात्मा_गांधी"}}},
		{"Japanese halfwidth", "新しい#ﾄﾞﾛｰﾝ。", []occ{}},
		{"Japanese halfwidth after punctuation", "新しい。#ﾄﾞﾛｰﾝ。", []occ{{"#ﾄﾞﾛｰﾝ", "ﾄﾞﾛｰﾝ", "ドローン"}}},
		{"Korean", "What is #트위터 anyway?", []occ{{"#트위터", "트위터", "트위터"}}},
		{"Vietnamese", "#HàNội #ViệtNam", []occ{{"#HàNội", "HàNội", "hanoi"}, {"#ViệtNam", "ViệtNam", "vietnam"}}},
		{"all digits", "#2025 #_1", []occ{}},
		{"followed by hash", "#a#b #c", []occ{{"#c", "c", "c"}}},
		{"followed by scheme", "#http://x.org", []occ{}},
		{"after ampersand", "&#nbsp; &#233;", []occ{}},
		{"in URL", "https://example.com/page#section x.org/#frag", []occ{}},
		{"in URL after text", "(voir http://a.fr/x?y=1&z=/#tag)", []occ{}},
		{"after URL", "https://example.com/ #tag", []occ{{"#tag", "tag", "tag"}}},
		{"slash without host", "and/or/#tag v1.2/#v2", []occ{{"#tag", "tag", "tag"}, {"#v2", "v2", "v2"}}},
		{"URL ended by CJK", "http://x.jp/。#タグ", []occ{{"#タグ", "タグ", "タグ"}}},
		{"invalid UTF-8 ends tag", "#ab\xffcd", []occ{{"#ab", "ab", "ab"}}},
		{"invalid UTF-8 before hash", "\xff#tag", []occ{{"#tag", "tag", "tag"}}},
		{"only combining accent", "#\u0301 #ok", []occ{{"#ok", "ok", "ok"}}},
		{"mention is no tag", "@NATO_ACT #nato", []occ{{"#nato", "nato", "nato"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := spans(tt.text, Extract(tt.text))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Extract(%q)\n got  %q\n want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestAppendOccurrencesKeepsPrefix(t *testing.T) {
	dst := []Occurrence{{Start: 1, End: 2, Original: "x", Canonical: "x"}}
	got := AppendOccurrences(dst, "#Un #\u0301 #Deux")
	want := []Occurrence{
		{Start: 1, End: 2, Original: "x", Canonical: "x"},
		{Start: 0, End: 3, Original: "Un", Canonical: "un"},
		{Start: 8, End: 13, Original: "Deux", Canonical: "deux"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AppendOccurrences\n got  %+v\n want %+v", got, want)
	}
}

func TestDistinct(t *testing.T) {
	tests := []struct {
		name, text string
		want       []Tag
	}{
		{"none", "no tags", []Tag{}},
		{"first spelling wins", "#Réarmement #RÉARMEMENT #rearmement #Re\u0301armement",
			[]Tag{{"rearmement", "Réarmement"}}},
		{"order of first appearance", "#b #a #B #c #A", []Tag{{"b", "b"}, {"a", "a"}, {"c", "c"}}},
		{"Greek sigma", "#οδός #ΟΔΟΣ", []Tag{{"οδοσ", "οδός"}}},
		{"LinkedIn and plain", "hashtag#OTAN #otan ＃ＯＴＡＮ", []Tag{{"otan", "OTAN"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := append([]Tag{}, Distinct(tt.text)...)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Distinct(%q)\n got  %q\n want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestDistinctManyTags(t *testing.T) {
	// More distinct tags than the linear search handles, with repeats.
	var b strings.Builder
	for round := 0; round < 2; round++ {
		for i := 0; i < 100; i++ {
			b.WriteString("#t")
			b.WriteString(strings.Repeat("x", i))
			b.WriteString(" ")
		}
	}
	got := Distinct(b.String())
	if len(got) != 100 {
		t.Fatalf("Distinct: %d tags, want 100", len(got))
	}
	for i, tg := range got {
		if want := "t" + strings.Repeat("x", i); tg.Tag != want {
			t.Fatalf("Distinct[%d] = %q, want %q", i, tg.Tag, want)
		}
	}
}

// TestSamplePost checks the LinkedIn post that motivated the hashtag# rule:
// 16 distinct tags, and @NATO_ACT is a mention, not a tag.
func TestSamplePost(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "nif2025-linkedin-post.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"nif2025", "otan", "ue", "nato", "defense", "industry", "innovation",
		"souverainete", "technologie", "ia", "drones", "robotics", "space",
		"industrialbase", "security", "rearmement"}
	got := []string{}
	display := map[string]string{}
	for _, tg := range Distinct(string(data)) {
		got = append(got, tg.Tag)
		display[tg.Tag] = tg.Display
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Distinct(sample)\n got  %q\n want %q", got, want)
	}
	for tag, d := range map[string]string{"nif2025": "NIF2025", "souverainete": "Souveraineté", "rearmement": "Réarmement", "industrialbase": "IndustrialBase"} {
		if display[tag] != d {
			t.Errorf("display of %s = %q, want %q", tag, display[tag], d)
		}
	}
	if n := len(Extract(string(data))); n != 20 {
		t.Errorf("Extract(sample): %d occurrences, want 20", n)
	}
}

// FuzzExtract checks the invariants of every result: offsets in order and in
// range, spans that start with a hash sign and hold the tag, valid UTF-8, and
// keys that are the canonical form of the original and idempotent.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"a #tag here", "hashtag#NIF2025 hashtag#Réarmement", "＃ＯＴＡＮ", "#Réar\u00ADmement",
		"#️⃣", "http://x.org/#a", "#ΟΔΟΣ #ﾄﾞﾛｰﾝ #트위터", "#ab\xffcd", "#\u0301", "#a#b",
		"x.com/#a b/#c", "#ᾼ #ǅ #ﬁ", "\xed\xa0\x80#x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		prev := 0
		for _, o := range Extract(text) {
			if o.Start < prev || o.Start >= o.End || o.End > len(text) {
				t.Fatalf("bad offsets %d:%d (previous end %d, len %d) in %q", o.Start, o.End, prev, len(text), text)
			}
			prev = o.End
			span := text[o.Start:o.End]
			body, ok := strings.CutPrefix(span, "#")
			if !ok {
				body, ok = strings.CutPrefix(span, "＃")
			}
			if !ok {
				t.Fatalf("span %q does not start with a hash sign", span)
			}
			if got := string(stripInvisible(nil, body)); got != o.Original {
				t.Fatalf("span %q holds %q, Original is %q", span, got, o.Original)
			}
			if o.Original == "" || !utf8.ValidString(o.Original) || !utf8.ValidString(o.Canonical) || o.Canonical == "" {
				t.Fatalf("bad strings %q / %q", o.Original, o.Canonical)
			}
			if c := Canonical(o.Original); c != o.Canonical {
				t.Fatalf("Canonical(%q) = %q, occurrence has %q", o.Original, c, o.Canonical)
			}
			if c := Canonical(o.Canonical); c != o.Canonical {
				t.Fatalf("Canonical not idempotent: %q -> %q", o.Canonical, c)
			}
		}
	})
}

// FuzzCanonical checks that keys are valid UTF-8 and idempotent, and that the
// fast paths (ASCII, cached rune keys) agree with the definition.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"NATO", "Réarmement", "Straße", "ﾄﾞﾛｰﾝ", "ΟΔΟΣ", "ᾼ", "İ", "a\xffb", "ǅ", "\u0345"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := Canonical(s)
		if !utf8.ValidString(c) {
			t.Fatalf("Canonical(%q) = %q, invalid UTF-8", s, c)
		}
		if again := Canonical(c); again != c {
			t.Fatalf("Canonical not idempotent: %q -> %q -> %q", s, c, again)
		}
		if !utf8.ValidString(s) {
			return
		}
		var sc scratch
		slow := string(sc.appendCanonicalSlow(nil, stripInvisible(nil, s)))
		if slow != c {
			t.Fatalf("Canonical(%q) = %q, the definition step by step gives %q", s, c, slow)
		}
	})
}

// TestConcurrentExtract runs extraction from several goroutines, for the
// race detector to check the shared key caches.
func TestConcurrentExtract(t *testing.T) {
	posts := corpus(40, false)
	want := make([][]Occurrence, len(posts))
	for i, p := range posts {
		want[i] = Extract(p)
	}
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			for i, p := range posts {
				if got := Extract(p); !reflect.DeepEqual(got, want[i]) {
					done <- fmt.Errorf("post %d: got %q, want %q", i, originals(got), originals(want[i]))
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
