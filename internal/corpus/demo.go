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

	"tagpulse/internal/post"
)

// DemoOptions say what GenerateDemo writes: the posts of the Days days
// before Now, on a grid of absolute times, so two runs in the same hour
// write the same posts with the same ids.
type DemoOptions struct {
	// Now is the time of the run: no post is dated after it, and the burst
	// peaks in its hour and the hour before.
	Now time.Time
	// Days is how many days of history come before the current hour; a 1h
	// trending window needs one (24 windows), the default is 4.
	Days int
	// Seed seeds the words of the posts and is part of every id.
	Seed uint64
}

// DefaultDemoOptions are the options of `make run`'s demo set; its seed
// is the default --seed of `ingest gen-corpus`, which seeds both sets.
func DefaultDemoOptions() DemoOptions {
	return DemoOptions{Now: time.Now().UTC(), Days: 4, Seed: 2025}
}

// demoStream is a run of posts that share their tags. A steady stream has
// the same number of posts every hour at evenly spaced times, so that any
// hour-long window holds exactly Rate of them and the stream never trends;
// a burst stream follows Burst instead over the last hours.
type demoStream struct {
	name  string
	tags  []string // display spellings, written as #Tag
	langs []string
	rate  int // posts per hour; divides 3600
	// burst holds the posts per hour of the current hour (burst[0]) and
	// the hours before it; older hours have rate posts.
	burst []int
}

// DemoBurstTags are the display forms of the tags that burst in the last
// hours of the demo set; DemoSteadyTags those that hold a steady rate.
var (
	DemoBurstTags  = []string{"SolarStorm", "Aurora"}
	DemoSteadyTags = []string{"Climate", "Energy", "AI", "IA", "Innovation", "Ukraine", "Elections2026", "Football", "LaLiga", "München", "Café", "安全保障", "안보"}
)

// demoStreams is the demo's story: a dozen tags in several languages talked
// about at a steady pace for days, then a solar storm whose auroras are
// seen across Europe in the last hours.
var demoStreams = []demoStream{
	{name: "climate", tags: []string{"Climate"}, langs: []string{"en"}, rate: 10},
	{name: "energy", tags: []string{"Climate", "Energy"}, langs: []string{"en", "de"}, rate: 5},
	{name: "ai", tags: []string{"AI"}, langs: []string{"en"}, rate: 10},
	{name: "ia", tags: []string{"IA", "Innovation"}, langs: []string{"fr"}, rate: 5},
	{name: "ukraine", tags: []string{"Ukraine"}, langs: []string{"en", "de", "fr"}, rate: 10},
	{name: "elections", tags: []string{"Elections2026"}, langs: []string{"en"}, rate: 5},
	{name: "football", tags: []string{"Football", "LaLiga"}, langs: []string{"es"}, rate: 5},
	{name: "munchen", tags: []string{"München"}, langs: []string{"de"}, rate: 5},
	{name: "cafe", tags: []string{"Café"}, langs: []string{"fr", "es"}, rate: 5},
	{name: "anzen", tags: []string{"安全保障"}, langs: []string{"ja"}, rate: 5},
	{name: "anbo", tags: []string{"안보"}, langs: []string{"ko"}, rate: 5},
	{name: "solarstorm", tags: []string{"SolarStorm", "Aurora"}, langs: []string{"en"}, rate: 5,
		burst: []int{90, 60, 25, 10}},
	{name: "aurora", tags: []string{"Aurora"}, langs: []string{"fr", "de", "ja", "en"}, rate: 5,
		burst: []int{60, 40, 15, 8}},
}

// GenerateDemo writes the demo set to w as JSONL (id, text, created_at,
// source, author, url, lang) and returns the counts a correct pipeline
// finds in it. A post's id is "demo:SEED:STREAM:UNIX" and its words come
// from the seed and its time alone, so a re-run republishes the posts it
// shares with an earlier one unchanged: counts are idempotent by id.
func GenerateDemo(w io.Writer, opt DemoOptions) (Expected, error) {
	if opt.Days < 1 {
		return Expected{}, fmt.Errorf("demo: days must be at least 1, got %d", opt.Days)
	}
	now := opt.Now.UTC().Truncate(time.Second)
	hour := now.Truncate(time.Hour)
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	exp := Expected{Tags: map[string]int{}}
	for j := opt.Days * 24; j >= 0; j-- {
		start := hour.Add(-time.Duration(j) * time.Hour)
		for si, s := range demoStreams {
			for _, at := range s.times(start, j, si) {
				if at.After(now) {
					continue
				}
				p := s.post(opt.Seed, at)
				if err := enc.Encode(&p); err != nil {
					return Expected{}, fmt.Errorf("writing demo post %s: %w", p.ID, err)
				}
				exp.Posts++
				for _, k := range s.keys() {
					exp.Mentions++
					exp.Tags[k]++
				}
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return Expected{}, fmt.Errorf("writing demo set: %w", err)
	}
	return exp, nil
}

// times returns when stream s (the si-th) posts in the hour starting at
// start, ago hours before the current one. Steady posts keep one phase
// across hours, so their spacing is even across hour boundaries too.
func (s demoStream) times(start time.Time, ago, si int) []time.Time {
	n := s.rate
	if ago < len(s.burst) {
		n = s.burst[ago]
	}
	if n == 0 {
		return nil
	}
	period := 3600 / n
	phase := (si*397 + 61) % period
	out := make([]time.Time, n)
	for k := range out {
		out[k] = start.Add(time.Duration(phase+k*period) * time.Second)
	}
	return out
}

// keys returns the canonical keys of the stream's tags as the pipeline
// folds them (lower case, accents removed).
func (s demoStream) keys() []string {
	out := make([]string, len(s.tags))
	for i, t := range s.tags {
		out[i] = demoKeys[t]
	}
	return out
}

// demoKeys are the canonical keys of the demo tags, written out by hand
// as docs/design.md defines them.
var demoKeys = map[string]string{
	"Climate": "climate", "Energy": "energy", "AI": "ai", "IA": "ia", "Innovation": "innovation",
	"Ukraine": "ukraine", "Elections2026": "elections2026", "Football": "football", "LaLiga": "laliga",
	"München": "munchen", "Café": "cafe", "安全保障": "安全保障", "안보": "안보",
	"SolarStorm": "solarstorm", "Aurora": "aurora",
}

// demoGiven and demoFamily make the demo's authors: handles such as
// ada.vogel42@demo.example, 2,500 of them, so that a burst comes from many
// accounts, as trending (which ranks on distinct accounts) needs to see
// one.
var (
	demoGiven  = []string{"ada", "bruno", "chloe", "dieter", "emi", "farid", "grace", "hyunwoo", "ines", "jonas"}
	demoFamily = []string{"lindqvist", "carvalho", "martin", "vogel", "tanaka", "haddad", "okafor", "park", "romero", "weber"}
)

// demoAuthor draws one of the demo's authors.
func demoAuthor(r *rand.Rand) string {
	return demoGiven[r.IntN(len(demoGiven))] + "." + demoFamily[r.IntN(len(demoFamily))] + strconv.Itoa(r.IntN(25)) + "@demo.example"
}

// post builds the post of stream s at at; its words depend only on the
// seed, the stream and the time.
func (s demoStream) post(seed uint64, at time.Time) post.Post {
	unix := at.Unix()
	r := rand.New(rand.NewPCG(seed, uint64(unix)^hashString(s.name)))
	lang := s.langs[r.IntN(len(s.langs))]
	var words []string
	for _, l := range languages {
		if l.lang == lang {
			words = l.words
		}
	}
	var b strings.Builder
	for range 6 + r.IntN(14) {
		writeSep(&b)
		b.WriteString(words[r.IntN(len(words))])
	}
	for _, t := range s.tags {
		b.WriteString(" #" + t)
	}
	id := "demo:" + strconv.FormatUint(seed, 10) + ":" + s.name + ":" + strconv.FormatInt(unix, 10)
	source := sources[r.IntN(len(sources))]
	return post.Post{
		ID:        id,
		Text:      b.String(),
		CreatedAt: at,
		Source:    source,
		Author:    demoAuthor(r),
		URL:       "https://example.org/" + source + "/" + s.name + "/" + strconv.FormatInt(unix, 10),
		Lang:      lang,
	}
}

// hashString is FNV-1a, to mix a stream's name into its seed.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
