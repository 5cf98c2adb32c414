package stacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/post"
)

// genTags are the hashtags generated posts use: as written in the text
// (two spellings of one key among them), and the canonical key ingest
// extracts and aggregate must count them under.
var genTags = []struct{ written, tag string }{
	{"#NATO", "nato"}, {"#OTAN", "otan"}, {"#Réarmement", "rearmement"}, {"#RÉARMEMENT", "rearmement"},
	{"#NIF2025", "nif2025"}, {"#Straße", "strasse"}, {"#Ukraine", "ukraine"}, {"#EU", "eu"}, {"#Defence", "defence"},
}

// GenPosts returns n messages with post ids prefix-0…, each with one to
// three hashtags (some written twice, or in two spellings of one key), in
// the text and in Hashtags as ingest would extract them, created during the
// five minutes before base (to the second), with a text padded to about
// textBytes. The same arguments give the same posts.
func GenPosts(prefix string, n int, base time.Time, textBytes int, seed uint64) []post.Message {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b9))
	out := make([]post.Message, n)
	for i := range out {
		id := fmt.Sprintf("%s-%d", prefix, i)
		var text strings.Builder
		text.WriteString("post " + id)
		var tags []post.Hashtag
		seen := map[string]bool{}
		for k := 0; k < 1+r.IntN(3); k++ {
			g := genTags[r.IntN(len(genTags))]
			text.WriteString(" " + g.written)
			if !seen[g.tag] {
				seen[g.tag] = true
				tags = append(tags, post.Hashtag{Tag: g.tag, Display: g.written[1:]})
			}
		}
		if pad := textBytes - text.Len(); pad > 0 {
			text.WriteString(" ")
			text.WriteString(strings.Repeat("lorem ipsum ", pad/12+1)[:pad])
		}
		out[i] = post.Message{
			Post: post.Post{
				ID:        id,
				Text:      text.String(),
				CreatedAt: base.Add(-time.Duration(r.IntN(300)) * time.Second).UTC().Truncate(time.Second),
				Source:    []string{"file", "rss-1", "webhook"}[r.IntN(3)],
				Lang:      []string{"fr", "en"}[r.IntN(2)],
				URL:       "https://posts.example/" + id,
			},
			Hashtags:         tags,
			ExtractorVersion: 1,
		}
	}
	return out
}

// WantTotals counts the distinct posts per tag of the lists: what
// TagTotals must read once they are all stored.
func WantTotals(lists ...[]post.Message) map[string]uint64 {
	out := map[string]uint64{}
	seen := map[string]bool{}
	for _, list := range lists {
		for _, p := range list {
			for _, h := range p.Hashtags {
				if id := p.ID + "\x00" + h.Tag; !seen[id] {
					seen[id] = true
					out[h.Tag]++
				}
			}
		}
	}
	return out
}

// WriteJSONL writes the posts (id, text, created_at) to a new file name in
// dir, one JSON object a line, as `ingest file` reads them, and returns its
// path. It writes then renames, so a polling ingest never reads half a
// file.
func WriteJSONL(t testing.TB, dir, name string, posts []post.Message) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, p := range posts {
		if err := enc.Encode(post.Post{ID: p.ID, Text: p.Text, CreatedAt: p.CreatedAt}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path+".tmp", b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	return path
}
