package topicsuggest

import (
	"cmp"
	"math"
	"slices"
)

// Overlap is what one population (posts, or accounts) says about a pair:
// how many members carry each tag, how many carry both, and the effective
// population Total: the number of members two independent tags of sizes A
// and B would be drawn from, so that they share A·B/Total by chance
// (Suggest derives it from how many tags members carry).
type Overlap struct {
	A, B, Both uint64
	Total      float64
}

// Lift is P(a∧b) / (P(a)·P(b)): how many times more often the two tags
// share a member than two independent tags of their sizes would. 1 is
// chance; 0 when either side is empty.
func (o Overlap) Lift() float64 {
	if o.A == 0 || o.B == 0 || o.Total == 0 {
		return 0
	}
	return float64(o.Both) * o.Total / (float64(o.A) * float64(o.B))
}

// Expected is how many members the two tags would share by chance: as
// many as two independent tags of their sizes.
func (o Overlap) Expected() float64 {
	if o.Total == 0 {
		return 0
	}
	return float64(o.A) * float64(o.B) / o.Total
}

// Z is how many standard deviations the shared members are above the
// expected count, the count being taken as Poisson: (both − e) / √e. A
// small tag's lucky overlap can have a high lift, never a high Z.
func (o Overlap) Z() float64 {
	e := o.Expected()
	if e == 0 {
		if o.Both == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return (float64(o.Both) - e) / math.Sqrt(e)
}

// NPMI is the normalized pointwise mutual information,
// ln(lift) / −ln P(a∧b): 1 when the two tags are always together, 0 at
// chance, negative when they avoid each other. Unlike lift it does not
// grow without bound as the tags get smaller, so it ranks pairs of
// different sizes fairly. It is −1 when they share nothing.
func (o Overlap) NPMI() float64 {
	if o.Both == 0 || o.Total == 0 {
		return -1
	}
	pab := float64(o.Both) / o.Total
	if pab >= 1 {
		return 1
	}
	return math.Log(o.Lift()) / -math.Log(pab)
}

// Coefficient is the overlap coefficient |a∩b| / min(|a|, |b|): the
// share of the smaller tag's members that also carry the larger one.
func (o Overlap) Coefficient() float64 {
	m := min(o.A, o.B)
	if m == 0 {
		return 0
	}
	return float64(o.Both) / float64(m)
}

// Thresholds decide which overlaps count as evidence.
type Thresholds struct {
	// MinShared is the least number of shared members (posts, or
	// accounts) a side needs to count: below it, a lift is luck.
	MinShared uint64
	// MinLift is the least lift a side needs. A tag carried by more than
	// 1/MinLift of the population can never reach it, so a very popular
	// tag (#news) is never suggested from its size alone.
	MinLift float64
	// MinZ is the least Z a side needs: how far above chance its overlap
	// must be, so that among thousands of pairs of small tags the few
	// that overlap by luck are not suggested.
	MinZ float64
	// MinOverlap is the least overlap coefficient a side needs: the share
	// of the smaller tag's members that carry the larger one too. Two tags
	// of related subjects (#nato and #ukraine) share far more than chance
	// but a small part of each; a merge should describe a good part of
	// the smaller tag.
	MinOverlap float64
}

// counts reports whether o is evidence under t.
func (t Thresholds) counts(o Overlap) bool {
	return o.Both >= t.MinShared && o.Both > 0 && o.Lift() >= t.MinLift && o.Z() >= t.MinZ &&
		o.Coefficient() >= t.MinOverlap
}

// Score is the rank of a pair whose posts and accounts overlap as given:
// the larger NPMI of the sides that count under t, and ok false when
// neither side counts.
func (t Thresholds) Score(posts, accounts Overlap) (score float64, ok bool) {
	score = math.Inf(-1)
	for _, o := range []Overlap{posts, accounts} {
		if t.counts(o) {
			score, ok = max(score, o.NPMI()), true
		}
	}
	if !ok {
		return 0, false
	}
	return score, true
}

// newPair builds the pair of tags a and b with its evidence and scores,
// the tag with more posts first (ties by name), from overlaps read on a
// sample of the given fraction of the members (1: all).
func newPair(a, b string, posts, accounts Overlap, score, fraction float64) Pair {
	if posts.B > posts.A || (posts.B == posts.A && b < a) {
		a, b = b, a
		posts.A, posts.B = posts.B, posts.A
		accounts.A, accounts.B = accounts.B, accounts.A
	}
	scale := func(n uint64) uint64 { return uint64(math.Round(float64(n) / fraction)) }
	return Pair{
		A: a, B: b,
		PostsA: scale(posts.A), PostsB: scale(posts.B), SharedPosts: scale(posts.Both),
		AccountsA: scale(accounts.A), AccountsB: scale(accounts.B), SharedAccounts: scale(accounts.Both),
		PostLift: round(posts.Lift()), AccountLift: round(accounts.Lift()),
		PostZ: round(posts.Z()), AccountZ: round(accounts.Z()),
		AccountOverlap: round(accounts.Coefficient()),
		Score:          round(score),
		Sample:         round(fraction),
	}
}

// round keeps 3 decimals, enough to judge and stable to compare.
func round(x float64) float64 { return math.Round(x*1000) / 1000 }

// rank sorts pairs best first: by score, then by the evidence behind it
// (shared posts and accounts), then by name, and keeps at most limit.
func rank(pairs []Pair, limit int) []Pair {
	slices.SortFunc(pairs, func(x, y Pair) int {
		return cmp.Or(
			cmp.Compare(y.Score, x.Score),
			cmp.Compare(y.SharedPosts+y.SharedAccounts, x.SharedPosts+x.SharedAccounts),
			cmp.Compare(x.A, y.A),
			cmp.Compare(x.B, y.B))
	})
	if len(pairs) > limit {
		pairs = pairs[:limit]
	}
	return pairs
}
