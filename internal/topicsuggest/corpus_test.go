package topicsuggest_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"tagpulse/internal/chstore"
)

// corpus is a seeded history with two planted translation pairs among
// popular unrelated tags and random noise, and what its pairs must show.
type corpus struct {
	rows []chstore.Mention
	// tags holds each tag's set of posts and of named accounts, from the
	// rows written, so tests compare Suggest's evidence with it.
	posts, accounts map[string]map[string]bool
	// popular are the unrelated popular tags; bots the tags only bots use.
	popular, bots []string
}

// popularTags are carried by posts independently of everything else, each
// by the given share of posts: they co-occur with every tag, at chance.
var popularTags = []struct {
	tag   string
	share float64
}{
	{"news", 0.30}, {"ai", 0.25}, {"tech", 0.20}, {"sport", 0.15}, {"music", 0.15},
	{"photo", 0.12}, {"travel", 0.10}, {"food", 0.10}, {"politics", 0.12}, {"climate", 0.10},
}

// newCorpus builds the corpus over the 20 days before end:
//
//   - 6,000 posts by 260 generic accounts (English, French, German), each
//     with the popular tags drawn independently, a mid-sized tag (60 of
//     them, ~30 posts each) for 3 posts in 10 and a noise tag (4,000 of
//     them) for 1 in 2;
//   - #NATO/#OTAN, planted in posts: 200 English posts with #nato and 150
//     French posts with #otan by the generic accounts, and 40 bilingual
//     accounts writing 120 posts with both, 80 with #nato and 80 with
//     #otan;
//   - #EU/#UE, planted in accounts only: 30 bilingual accounts writing 60
//     posts with #eu in English and 60 with #ue in French, never both in
//     one post, and 20 generic English posts with #eu;
//   - 100 posts of 5 bot accounts carrying #botwave and #botpromo, which
//     must make no pair;
//   - one row in ten stored twice, as a replay leaves it.
//
// Every planted post also carries the popular and noise tags at random.
func newCorpus(end time.Time) *corpus {
	rng := rand.New(rand.NewPCG(23, 5))
	c := &corpus{posts: map[string]map[string]bool{}, accounts: map[string]map[string]bool{}, bots: []string{"botwave", "botpromo"}}
	for _, p := range popularTags {
		c.popular = append(c.popular, p.tag)
	}
	n := 0
	post := func(account, lang string, bot bool, planted ...string) {
		n++
		id := fmt.Sprintf("p%d", n)
		at := end.Add(-time.Duration(rng.Int64N(int64(20 * 24 * time.Hour)))).Truncate(time.Second)
		tags := append([]string(nil), planted...)
		for _, p := range popularTags {
			if rng.Float64() < p.share {
				tags = append(tags, p.tag)
			}
		}
		if rng.Float64() < 0.3 {
			tags = append(tags, fmt.Sprintf("m%d", rng.IntN(60)))
		}
		if rng.Float64() < 0.5 {
			tags = append(tags, fmt.Sprintf("n%d", rng.IntN(4000)))
		}
		for _, tag := range tags {
			m := chstore.Mention{PostID: id, Account: account, Tag: tag, Display: tag, CreatedAt: at,
				Source: "mastodon", Lang: lang, ExtractorVersion: 1, InsertedAt: end, Bot: bot}
			c.rows = append(c.rows, m)
			if rng.IntN(10) == 0 {
				m.InsertedAt = end.Add(time.Minute)
				c.rows = append(c.rows, m)
			}
			if bot {
				continue
			}
			if c.posts[tag] == nil {
				c.posts[tag], c.accounts[tag] = map[string]bool{}, map[string]bool{}
			}
			c.posts[tag][id] = true
			c.accounts[tag][account] = true
		}
	}
	langs := []string{"en", "fr", "de"}
	generic := func() (string, string) {
		lang := langs[rng.IntN(len(langs))]
		return fmt.Sprintf("%s%d", lang, rng.IntN(260/3)), lang
	}
	for range 6000 {
		a, lang := generic()
		post(a, lang, false)
	}
	for range 200 {
		post(fmt.Sprintf("en%d", rng.IntN(260/3)), "en", false, "nato")
	}
	for range 150 {
		post(fmt.Sprintf("fr%d", rng.IntN(260/3)), "fr", false, "otan")
	}
	bi := func(group string, size int) string { return fmt.Sprintf("%s%d", group, rng.IntN(size)) }
	for range 120 {
		post(bi("natobi", 40), "fr", false, "nato", "otan")
	}
	for range 80 {
		post(bi("natobi", 40), "en", false, "nato")
		post(bi("natobi", 40), "fr", false, "otan")
	}
	for i := range 60 {
		// Every one of the 30 accounts writes both tags, in separate posts.
		post(fmt.Sprintf("eubi%d", i%30), "en", false, "eu")
		post(fmt.Sprintf("eubi%d", i%30), "fr", false, "ue")
	}
	for range 20 {
		post(fmt.Sprintf("en%d", rng.IntN(260/3)), "en", false, "eu")
	}
	for range 100 {
		post(bi("bot", 5), "en", true, "botwave", "botpromo")
	}
	return c
}

// shared is how many members two sets share.
func shared(a, b map[string]bool) uint64 {
	var n uint64
	for k := range a {
		if b[k] {
			n++
		}
	}
	return n
}
