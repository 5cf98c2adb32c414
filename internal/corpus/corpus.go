// Package corpus generates tagpulse's benchmark corpus: seeded,
// deterministic, multilingual posts with Zipf-distributed hashtags, and the
// counts a correct pipeline must find in them (Expected). `ingest
// gen-corpus` writes it and the benchmark harness (internal/testkit/benchrun)
// measures on it. GenerateDemo writes the demo set of `make run`
// (`ingest gen-corpus --demo`): days of steady tags and a burst ending now.
// The package imports no ClickHouse and nothing of the harness, so
// the ingest binary links only this.
package corpus

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"tagpulse/internal/ingest"
	"tagpulse/internal/post"
)

// Options say what Generate writes. The same options always
// give the same bytes.
type Options struct {
	// Posts is how many posts to write.
	Posts int
	// Seed seeds the generator.
	Seed uint64
	// End and Span place created_at: uniformly in [End-Span, End), to the
	// second.
	End  time.Time
	Span time.Duration
	// LongTail is how many synthetic tags ("topic123") follow the
	// hand-written vocabulary in the Zipf ranking.
	LongTail int
}

// DefaultOptions are the options of `make bench`: 200,000 posts over
// the six hours before the start of the current hour.
func DefaultOptions() Options {
	return Options{
		Posts:    200_000,
		Seed:     2025,
		End:      time.Now().UTC().Truncate(time.Hour),
		Span:     6 * time.Hour,
		LongTail: 5000,
	}
}

// Expected is what a correct pipeline must count for a corpus, computed by
// the generator from the tags it wrote (not by the extractor): per
// canonical tag, the number of distinct posts that used it.
type Expected struct {
	Posts    int
	Mentions int // post × distinct tag pairs
	Tags     map[string]int
}

// vocabEntry is one tag: its canonical key (as docs/design.md defines it,
// written out by hand) and spellings that all fold to it.
type vocabEntry struct {
	key       string
	spellings []string
}

// vocabulary is the head of the Zipf ranking, most used first: accents,
// case, NFD spellings, ß, dotted İ, fullwidth letters, Greek, CJK, Hangul,
// Arabic and Devanagari tags.
var vocabulary = []vocabEntry{
	{"nato", []string{"NATO", "nato", "Nato"}},
	{"otan", []string{"OTAN", "otan", "ＯＴＡＮ"}},
	{"rearmement", []string{"Réarmement", "RÉARMEMENT", "rearmement", "Re\u0301armement"}},
	{"nif2025", []string{"NIF2025", "nif2025"}},
	{"defense", []string{"Défense", "défense", "DEFENSE"}},
	{"ia", []string{"IA", "ia"}},
	{"ai", []string{"AI"}},
	{"climate", []string{"Climate", "climate", "CLIMATE"}},
	{"souverainete", []string{"Souveraineté", "souveraineté"}},
	{"strasse", []string{"Straße", "STRASSE", "strasse"}},
	{"drones", []string{"Drones", "drones"}},
	{"防衛産業", []string{"防衛産業"}},
	{"cafe", []string{"Café", "CAFÉ", "cafe"}},
	{"munchen", []string{"München", "Munchen"}},
	{"안보", []string{"안보"}},
	{"espana", []string{"España", "ESPAÑA"}},
	{"ελλαδα", []string{"Ελλάδα", "ΕΛΛΑΔΑ"}},
	{"istanbul", []string{"İstanbul", "Istanbul"}},
	{"الأمن", []string{"الأمن"}},
	{"सुरक्षा", []string{"सुरक्षा"}},
	{"sao_paulo", []string{"São_Paulo", "sao_paulo"}},
	{"ドローン", []string{"ドローン"}},
	{"elections2026", []string{"Elections2026", "elections2026"}},
	{"ukraine", []string{"Ukraine", "UKRAINE"}},
	{"innovation", []string{"Innovation", "innovation"}},
}

// languages give each post its filler words; none holds '#', '&' or a
// character that could join a tag written next to it.
var languages = []struct {
	lang  string
	words []string
}{
	{"fr", strings.Fields(`le la les de des un une et pour par avec sur dans cette semaine s'est tenu entreprises participants succès historique raisons alliés engagés dépenser défendre augmentation annuelle milliards membres effort structuré façon systèmes œuvre aujourd'hui futur capacités`)},
	{"en", strings.Fields(`the of and to in is for on with that this from industry forum defence innovation accelerate sustain deliver capabilities investment security leaders officials today great news`)},
	{"de", strings.Fields(`die der und für mit über Größe heute Sicherheit Verteidigung Zukunft Unternehmen Woche großartig`)},
	{"es", strings.Fields(`el la los de y para con sobre defensa seguridad año señor mañana niños acción`)},
	{"ja", strings.Fields(`会議中 日本語の投稿 今日は 安全保障 技術 未来 ありがとう`)},
	{"ko", strings.Fields(`트위터 한국어 오늘 회의 기술 미래 감사합니다`)},
	{"ar", strings.Fields(`السياسة الناتو اليوم مؤتمر التكنولوجيا المستقبل`)},
	{"hi", strings.Fields(`आज सम्मेलन तकनीक भविष्य धन्यवाद`)},
}

var emoji = []string{"🚀", "✌️", "👨‍👩‍👧", "🇫🇷", "😀", "🔥", "👏"}

var sources = []string{"linkedin", "mastodon", "rss", "webhook"}

// Generate writes opt.Posts posts to w as JSONL (id, text,
// created_at, source, lang) and returns the counts a correct pipeline
// computes from them. Tags follow a Zipf law over the vocabulary and a long
// tail; LinkedIn posts often write them as "hashtag#Tag"; some posts repeat
// a tag in another spelling (counted once) and some have none.
func Generate(w io.Writer, opt Options) (Expected, error) {
	g := newGenerator(opt)
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	exp := Expected{Tags: map[string]int{}}
	for i := range opt.Posts {
		p, keys := g.post(i)
		if err := enc.Encode(&p); err != nil {
			return Expected{}, fmt.Errorf("writing post %d: %w", i, err)
		}
		exp.Posts++
		exp.Mentions += len(keys)
		for _, k := range keys {
			exp.Tags[k]++
		}
	}
	if err := bw.Flush(); err != nil {
		return Expected{}, fmt.Errorf("writing corpus: %w", err)
	}
	return exp, nil
}

type generator struct {
	opt   Options
	rng   *rand.Rand
	zipf  *rand.Zipf
	vocab []vocabEntry
}

func newGenerator(opt Options) *generator {
	rng := rand.New(rand.NewPCG(opt.Seed, 0x7a6770756c7365))
	vocab := append([]vocabEntry(nil), vocabulary...)
	for n := range opt.LongTail {
		key := "topic" + strconv.Itoa(n)
		vocab = append(vocab, vocabEntry{key, []string{key, "Topic" + strconv.Itoa(n)}})
	}
	return &generator{
		opt:   opt,
		rng:   rng,
		zipf:  rand.NewZipf(rng, 1.1, 1, uint64(len(vocab)-1)),
		vocab: vocab,
	}
}

// post builds post i and returns its distinct canonical keys.
func (g *generator) post(i int) (post.Post, []string) {
	r := g.rng
	lang := languages[r.IntN(len(languages))]
	source := sources[r.IntN(len(sources))]
	linkedin := source == "linkedin" && r.IntN(2) == 0

	var ntags int
	switch k := r.IntN(100); {
	case k < 10:
		ntags = 0
	case k < 35:
		ntags = 1
	case k < 65:
		ntags = 2
	case k < 85:
		ntags = 3
	case k < 95:
		ntags = 4
	default:
		ntags = 5 + r.IntN(4)
	}
	var keys []string
	var tags []string
	for range ntags {
		e := g.vocab[g.zipf.Uint64()]
		tags = append(tags, g.spell(e, linkedin))
		if !contains(keys, e.key) {
			keys = append(keys, e.key)
		}
	}
	// Some posts repeat one of their tags in another spelling.
	if len(keys) > 0 && r.IntN(20) == 0 {
		k := keys[r.IntN(len(keys))]
		for _, e := range g.vocab[:min(len(g.vocab), len(vocabulary))] {
			if e.key == k {
				tags = append(tags, g.spell(e, linkedin))
			}
		}
	}

	nwords := 8 + r.IntN(30)
	var b strings.Builder
	slots := make([]int, len(tags))
	for j := range slots {
		slots[j] = r.IntN(nwords + 1)
	}
	for w := 0; w <= nwords; w++ {
		for j, s := range slots {
			if s == w {
				writeSep(&b)
				b.WriteString(tags[j])
			}
		}
		if w == nwords {
			break
		}
		writeSep(&b)
		if r.IntN(25) == 0 {
			b.WriteString(emoji[r.IntN(len(emoji))])
		} else {
			b.WriteString(lang.words[r.IntN(len(lang.words))])
		}
	}
	if r.IntN(10) == 0 {
		b.WriteString(" https://example.org/news/" + strconv.Itoa(i) + "#section")
	}
	created := g.opt.End.Add(-time.Duration(r.Int64N(int64(g.opt.Span/time.Second))+1) * time.Second)
	return post.Post{
		ID:        "bench:" + strconv.FormatUint(g.opt.Seed, 10) + ":" + strconv.Itoa(i),
		Text:      b.String(),
		CreatedAt: created.UTC(),
		Source:    source,
		Lang:      lang.lang,
	}, keys
}

// spell picks a spelling of e, in LinkedIn's "hashtag#" form when asked.
func (g *generator) spell(e vocabEntry, linkedin bool) string {
	s := e.spellings[g.rng.IntN(len(e.spellings))]
	if linkedin {
		return "hashtag#" + s
	}
	return "#" + s
}

func writeSep(b *strings.Builder) {
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// SampleMessages returns the Kafka values ingest would publish for the
// first n posts of the corpus of seed: realistic input for the
// micro-benchmarks of decoding and batch building.
func SampleMessages(n int, seed uint64) [][]byte {
	opt := Options{Posts: n, Seed: seed, End: time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC), Span: 6 * time.Hour, LongTail: 5000}
	g := newGenerator(opt)
	out := make([][]byte, n)
	for i := range out {
		p, _ := g.post(i)
		m := ingest.Hashtags.Message(p)
		v, err := json.Marshal(&m)
		if err != nil {
			panic(err)
		}
		out[i] = v
	}
	return out
}
