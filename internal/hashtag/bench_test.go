package hashtag

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// Benchmarks: the scanner against a regular-expression implementation of
// the same rules, on a deterministic corpus of posts.
//
//	go test -run '^$' -bench . -benchmem -count 5 ./internal/hashtag/
//
// Each operation extracts every post of the corpus; allocs/post is the
// allocation count per post with a reused result slice.

// The baseline. It approximates the rules: the regexp consumes the
// character before the '#' (so "#a #b" needs the space between, as in
// twitter-text's own Java regexp), and it knows neither the invisible
// characters nor URLs; "hashtag#" and the checks after the match (no '#'
// or "://" next, no U+FE0F/U+20E3 after the '#') are in Go code around it,
// and keys come from the same Canonical.
const (
	reTagChars = `\p{L}\p{M}\p{Nd}_\x{200C}\x{200D}\x{A67E}\x{05BE}\x{05F3}\x{05F4}\x{FF5E}\x{301C}\x{309B}\x{309C}\x{30A0}\x{30FB}\x{3003}\x{0F0B}\x{0F0C}\x{00B7}`
	reHashtag  = `(?i)(?:^|[\x{FE0E}\x{FE0F}]|(?:^|[^&` + reTagChars + `])hashtag|[^&` + reTagChars + `])([#＃])([` +
		reTagChars + `]*[\p{L}\p{M}][` + reTagChars + `]*)`
)

var hashtagRE = regexp.MustCompile(reHashtag)

func regexpAppendOccurrences(dst []Occurrence, text string) []Occurrence {
	for _, m := range hashtagRE.FindAllStringSubmatchIndex(text, -1) {
		start, tagStart, end := m[2], m[4], m[5]
		if r, _ := utf8.DecodeRuneInString(text[tagStart:]); r == 0xFE0F || r == 0x20E3 {
			continue
		}
		rest := text[end:]
		if strings.HasPrefix(rest, "#") || strings.HasPrefix(rest, "＃") || strings.HasPrefix(rest, "://") {
			continue
		}
		orig := text[tagStart:end]
		dst = append(dst, Occurrence{Start: start, End: end, Original: orig, Canonical: Canonical(orig)})
	}
	return dst
}

// corpus returns n posts of about 1–2 KB: mostly French and English text
// with accents, some German, Turkish, Greek, Arabic, Japanese, Korean and
// Hindi, emoji, URLs, mentions and tags in every form the scanner handles.
func corpus(n int, latinOnly bool) []string {
	rng := rand.New(rand.NewPCG(2025, 11))
	latin := strings.Fields(`le la les de des un une et pour par avec sur dans cette semaine
		s'est tenu Bucarest entreprises participants succès historique raisons alliés engagés
		dépenser leur défendre augmentation annuelle milliards membres l'ordre effort réarmement
		structuré façon rationnelle systèmes permettant œuvre aujourd'hui futur capacités
		the of and to in is for on with that this from industry forum defence innovation
		accelerate sustain deliver capabilities investment security leaders officials
		Straße München Größe über İstanbul güvenlik savunma Ελλάδα άμυνα Việt Nam`)
	other := strings.Fields(`会議中 日本語の投稿 防衛産業 ドローン 트위터 한국어 안보
		الأمن السياسة الناتو सुरक्षा रक्षा 🚀 ✌️ 👨‍👩‍👧 🇫🇷 😀`)
	tags := strings.Fields(`#NIF2025 #OTAN #nato #Défense #Réarmement #RÉARMEMENT #Souveraineté
		#IA #drones #Robotics #space #IndustrialBase #Security #Straße #İstanbul #ΟΔΟΣ
		hashtag#NIF2025 hashtag#OTAN hashtag#Innovation ＃ＯＴＡＮ #ﾄﾞﾛｰﾝ #트위터 #السياسة
		#महात्मा #ViệtNam #défense_européenne`)
	extras := strings.Fields(`https://www.nato.int/cps/en/natohq/news.htm#top @NATO_ACT
		(voir &nbsp; 3,5% 2025 #16 « as a service » — …`)
	posts := make([]string, n)
	for i := range posts {
		var b strings.Builder
		size := 1024 + rng.IntN(1024)
		for b.Len() < size {
			switch k := rng.IntN(100); {
			case k < 6:
				b.WriteString(tags[rng.IntN(len(tags))])
			case k < 9:
				b.WriteString(extras[rng.IntN(len(extras))])
			case k < 14 && !latinOnly:
				b.WriteString(other[rng.IntN(len(other))])
			default:
				b.WriteString(latin[rng.IntN(len(latin))])
			}
			if rng.IntN(12) == 0 {
				b.WriteString(".\n")
			} else {
				b.WriteByte(' ')
			}
		}
		posts[i] = b.String()
	}
	return posts
}

func TestRegexpBaselineAgrees(t *testing.T) {
	// The baseline must find the same tags on the corpus, or the comparison
	// would be meaningless.
	for _, post := range corpus(50, false) {
		want := Extract(post)
		got := regexpAppendOccurrences(nil, post)
		// The regexp does not know URLs: drop what it finds inside them.
		filtered := got[:0]
		var u urlState
		for _, o := range got {
			if !u.inURL(post, o.Start) {
				filtered = append(filtered, o)
			}
		}
		if len(filtered) != len(want) {
			t.Fatalf("regexp found %d tags, scanner %d in %q", len(filtered), len(want), post)
		}
		for i := range want {
			if filtered[i] != want[i] {
				t.Fatalf("tag %d: regexp %+v, scanner %+v", i, filtered[i], want[i])
			}
		}
	}
}

func BenchmarkExtract(b *testing.B) {
	for _, c := range []struct {
		name   string
		posts  []string
		append func([]Occurrence, string) []Occurrence
	}{
		{"scanner", corpus(200, false), AppendOccurrences},
		{"regexp", corpus(200, false), regexpAppendOccurrences},
		{"scanner-latin", corpus(200, true), AppendOccurrences},
		{"regexp-latin", corpus(200, true), regexpAppendOccurrences},
	} {
		b.Run(c.name, func(b *testing.B) {
			total := 0
			for _, p := range c.posts {
				total += len(p)
			}
			b.SetBytes(int64(total))
			b.ReportAllocs()
			var occ []Occurrence
			tags := 0
			for b.Loop() {
				for _, p := range c.posts {
					occ = c.append(occ[:0], p)
					tags += len(occ)
				}
			}
			if tags == 0 {
				b.Fatal("no tags found")
			}
			b.ReportMetric(float64(testing.AllocsPerRun(1, func() {
				for _, p := range c.posts {
					occ = c.append(occ[:0], p)
				}
			}))/float64(len(c.posts)), "allocs/post")
		})
	}
}

func BenchmarkDistinct(b *testing.B) {
	posts := corpus(200, false)
	total := 0
	for _, p := range posts {
		total += len(p)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range posts {
			Distinct(p)
		}
	}
}

func BenchmarkCanonical(b *testing.B) {
	for _, tag := range []string{"nato", "NIF2025", "Réarmement", "ﾄﾞﾛｰﾝ", "트위터"} {
		b.Run(tag, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Canonical(tag)
			}
		})
	}
}
