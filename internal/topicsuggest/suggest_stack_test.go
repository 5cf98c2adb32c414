package topicsuggest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chstore"
	"tagpulse/internal/deletion"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/topicsuggest"
)

// corpusEnd is when the test corpus ends and the window is read from.
var corpusEnd = time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC)

// withCorpus returns a migrated test database holding the seeded corpus.
func withCorpus(t *testing.T) (driver.Conn, *corpus) {
	t.Helper()
	_, conn := stacktest.MigratedClickHouse(t)
	c := newCorpus(corpusEnd)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := chstore.InsertMentions(ctx, conn, c.rows); err != nil {
		t.Fatalf("inserting the corpus: %v", err)
	}
	return conn, c
}

func suggest(t *testing.T, conn driver.Conn, q topicsuggest.Query) []topicsuggest.Pair {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q.At = corpusEnd
	pairs, err := topicsuggest.Suggest(ctx, conn, q)
	if err != nil {
		t.Fatalf("Suggest: %v", err)
	}
	return pairs
}

func names(pairs []topicsuggest.Pair) []string {
	var out []string
	for _, p := range pairs {
		out = append(out, p.A+"/"+p.B)
	}
	return out
}

// TestSuggestFindsPlantedPairs inserts the seeded corpus and checks that
// the two planted translation pairs come first, with exact evidence, and
// that nothing else is suggested: no pair of unrelated popular tags, of a
// popular tag with a planted one, of noise, or of the bots' tags.
func TestSuggestFindsPlantedPairs(t *testing.T) {
	conn, c := withCorpus(t)
	pairs := suggest(t, conn, topicsuggest.Query{})
	for _, p := range pairs {
		t.Logf("%+v", p)
	}
	got := names(pairs)
	if len(got) < 2 || !slices.Contains(got[:2], "nato/otan") || !slices.Contains(got[:2], "eu/ue") {
		t.Fatalf("pairs = %v, want nato/otan and eu/ue first", got)
	}
	if len(got) != 2 {
		t.Errorf("pairs = %v, want only the planted nato/otan and eu/ue", got)
	}
	for _, p := range pairs {
		if slices.Contains(c.popular, p.A) && slices.Contains(c.popular, p.B) {
			t.Errorf("unrelated popular tags suggested: %+v", p)
		}
		if slices.Contains(c.bots, p.A) || slices.Contains(c.bots, p.B) {
			t.Errorf("bots' tags suggested: %+v", p)
		}
		// The evidence is exact whatever copies of rows are stored.
		want := topicsuggest.Pair{
			A: p.A, B: p.B,
			PostsA: uint64(len(c.posts[p.A])), PostsB: uint64(len(c.posts[p.B])), SharedPosts: shared(c.posts[p.A], c.posts[p.B]),
			AccountsA: uint64(len(c.accounts[p.A])), AccountsB: uint64(len(c.accounts[p.B])), SharedAccounts: shared(c.accounts[p.A], c.accounts[p.B]),
		}
		gotCounts := p
		gotCounts.PostLift, gotCounts.AccountLift, gotCounts.AccountOverlap, gotCounts.PostZ, gotCounts.AccountZ, gotCounts.Score, gotCounts.Sample = 0, 0, 0, 0, 0, 0, 0
		if gotCounts != want {
			t.Errorf("evidence of %s/%s = %+v, want %+v", p.A, p.B, gotCounts, want)
		}
	}
	if pairs[0].Sample != 1 {
		t.Errorf("sample = %g, want 1: the corpus is below SampleRows", pairs[0].Sample)
	}
	if i := slices.Index(got, "eu/ue"); i >= 0 && pairs[i].SharedAccounts != 30 {
		t.Errorf("eu/ue shared accounts = %d, want the 30 bilingual accounts", pairs[i].SharedAccounts)
	}
}

// TestSuggestSamplesALargeWindow reads the corpus as if it were large:
// with SampleRows a third of its rows, Suggest reads a third of the posts
// and of the accounts, and the planted pairs still come first, alone.
func TestSuggestSamplesALargeWindow(t *testing.T) {
	conn, c := withCorpus(t)
	pairs := suggest(t, conn, topicsuggest.Query{SampleRows: uint64(len(c.rows) / 3)})
	for _, p := range pairs {
		t.Logf("%+v", p)
	}
	got := names(pairs)
	if len(got) != 2 || !slices.Contains(got, "nato/otan") || !slices.Contains(got, "eu/ue") {
		t.Fatalf("pairs = %v, want nato/otan and eu/ue only", got)
	}
	for _, p := range pairs {
		if p.Sample < 0.3 || p.Sample > 0.4 {
			t.Errorf("sample of %s/%s = %g, want about a third", p.A, p.B, p.Sample)
		}
		if want := uint64(len(c.posts[p.A])); p.PostsA < want*2/3 || p.PostsA > want*4/3 {
			t.Errorf("posts of %s estimated at %d, want about %d", p.A, p.PostsA, want)
		}
	}
}

// TestSuggestExcludesKnownPairs leaves out a pair already merged.
func TestSuggestExcludesKnownPairs(t *testing.T) {
	conn, _ := withCorpus(t)
	pairs := suggest(t, conn, topicsuggest.Query{Exclude: func(a, b string) bool { return a == "nato" && b == "otan" }})
	if got := strings.Join(names(pairs), " "); got != "eu/ue" {
		t.Errorf("pairs with nato/otan excluded = %s, want eu/ue", got)
	}
}

// TestBotsAndDeletedPostsMakeNoPairs stores one pair of tags written
// together by bots and another by people: only the people's is
// suggested, and once their posts are deleted, neither is.
func TestBotsAndDeletedPostsMakeNoPairs(t *testing.T) {
	_, conn := stacktest.MigratedClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var rows []chstore.Mention
	var tombstones []deletion.Tombstone
	for i := range 40 {
		at := corpusEnd.Add(-time.Duration(i+1) * time.Hour)
		for j, tags := range [][]string{{"botwave", "botpromo"}, {"launch", "launchday"}, {"news"}, {"ai"}, {"sport"}} {
			id, account := fmt.Sprintf("p%d_%d", i, j), fmt.Sprintf("a%d", (i+j)%13)
			for _, tag := range tags {
				rows = append(rows, chstore.Mention{PostID: id, Account: account, Tag: tag, Display: tag, CreatedAt: at,
					Source: "mastodon", Lang: "en", ExtractorVersion: 1, InsertedAt: corpusEnd, Bot: j == 0})
			}
			if j == 1 {
				tombstones = append(tombstones, deletion.Tombstone{PostID: id, CreatedAt: at, DeletedAt: corpusEnd})
			}
		}
	}
	if err := chstore.InsertMentions(ctx, conn, rows); err != nil {
		t.Fatalf("inserting: %v", err)
	}
	if got := strings.Join(names(suggest(t, conn, topicsuggest.Query{})), " "); got != "launch/launchday" {
		t.Fatalf("pairs = %s, want only launch/launchday (the bots' botwave/botpromo do not count)", got)
	}
	if _, err := deletion.Store(ctx, conn, tombstones, corpusEnd); err != nil {
		t.Fatalf("deleting the launch posts: %v", err)
	}
	if got := names(suggest(t, conn, topicsuggest.Query{})); len(got) != 0 {
		t.Errorf("pairs after the launch posts were deleted = %v, want none", got)
	}
}
