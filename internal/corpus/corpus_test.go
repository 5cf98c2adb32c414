package corpus

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"

	"tagpulse/internal/hashtag"
	"tagpulse/internal/post"
)

func testOptions(n int) Options {
	return Options{Posts: n, Seed: 7, End: time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC), Span: 6 * time.Hour, LongTail: 500}
}

// The generator's own keys must be what the extractor finds: the oracle of
// the exactness check is written by hand, this test keeps it honest.
func TestCorpusOracleMatchesExtractor(t *testing.T) {
	var buf bytes.Buffer
	exp, err := Generate(&buf, testOptions(5000))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	mentions, posts := 0, 0
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		p, err := post.DecodePost(sc.Bytes(), post.DecodeOptions{})
		if err != nil {
			t.Fatalf("post %d does not decode: %v", posts, err)
		}
		if p.CreatedAt.IsZero() || p.Lang == "" || p.Source == "" {
			t.Fatalf("post %s lacks created_at, lang or source: %+v", p.ID, p)
		}
		posts++
		for _, tag := range hashtag.Distinct(p.Text) {
			got[tag.Tag]++
			mentions++
		}
	}
	if posts != exp.Posts || mentions != exp.Mentions {
		t.Errorf("extractor found %d posts and %d mentions, generator expects %d and %d", posts, mentions, exp.Posts, exp.Mentions)
	}
	for k, n := range exp.Tags {
		if got[k] != n {
			t.Errorf("tag %q: extractor counts %d posts, generator %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if _, ok := exp.Tags[k]; !ok {
			t.Errorf("extractor found tag %q (%d posts) the generator never wrote", k, n)
		}
	}
}

func TestCorpusDeterministicAndZipf(t *testing.T) {
	sum := func(opt Options) ([32]byte, Expected) {
		var buf bytes.Buffer
		exp, err := Generate(&buf, opt)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(buf.Bytes()), exp
	}
	a, exp := sum(testOptions(3000))
	b, _ := sum(testOptions(3000))
	if a != b {
		t.Fatal("same options gave different corpora")
	}
	other := testOptions(3000)
	other.Seed++
	if c, _ := sum(other); c == a {
		t.Fatal("another seed gave the same corpus")
	}
	// Zipf: the top tag is far more used than the tenth, which is far more
	// used than a tag deep in the tail.
	if top, tenth := exp.Tags["nato"], exp.Tags[vocabulary[9].key]; top < 3*tenth || tenth == 0 {
		t.Errorf("not Zipf-like: nato %d posts, %s %d", top, vocabulary[9].key, tenth)
	}
	if len(exp.Tags) < 200 {
		t.Errorf("only %d distinct tags in 3000 posts: the long tail is missing", len(exp.Tags))
	}
}

func TestCorpusTimesInSpan(t *testing.T) {
	opt := testOptions(1000)
	var buf bytes.Buffer
	if _, err := Generate(&buf, opt); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var p post.Post
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if !p.CreatedAt.Before(opt.End) || p.CreatedAt.Before(opt.End.Add(-opt.Span)) {
			t.Fatalf("post %s created at %s, outside [%s, %s)", p.ID, p.CreatedAt, opt.End.Add(-opt.Span), opt.End)
		}
	}
}
