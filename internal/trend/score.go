package trend

import (
	"math"
	"sort"
	"time"
)

// Params are the parameters of the trending score; docs/trends.md explains
// the formula and why these defaults.
type Params struct {
	// BaselineWindows is how many windows before the current one form a
	// tag's history (24: for a 1h window, the previous day).
	BaselineWindows int
	// PriorPosts and PriorWindows are a Gamma prior on the rate per window:
	// the history is read as if PriorWindows more windows with PriorPosts
	// posts in total had been seen, which keeps the expectation of a tag
	// with little history away from zero.
	PriorPosts   float64
	PriorWindows float64
	// MinExpected is the smallest expected count a score divides by, so a
	// brand-new tag cannot reach an enormous score with a handful of posts.
	MinExpected float64
	// MinCount is how many distinct posts a tag needs in the window before
	// it can trend at all.
	MinCount uint64
	// MinScore is the score a tag must exceed to be listed.
	MinScore float64
	// MaxConcentration is the share of a tag's posts in the window that
	// its most active account or instance may hold before the tag is
	// concentrated (Concentration).
	MaxConcentration float64
}

// DefaultParams are the parameters the API, the page and the CLI use.
func DefaultParams() Params {
	return Params{
		BaselineWindows: 24,
		PriorPosts:      1,
		PriorWindows:    1,
		MinExpected:     1,
		MinCount:        5,
		MinScore:        1,

		MaxConcentration: DefaultMaxConcentration,
	}
}

// Score returns what the history of a tag predicts for the current window
// (expected) and how surprising the observed count is against it (score,
// in standard deviations). baseline holds the counts of the previous
// windows, most recent first; its length is the number of windows the tag
// could have been seen in.
func (p Params) Score(observed uint64, baseline []uint64) (expected, score float64) {
	var sum float64
	for _, n := range baseline {
		sum += float64(n)
	}
	k := float64(len(baseline))
	expected = (p.PriorPosts + sum) / (p.PriorWindows + k)

	// A Poisson count has variance equal to its mean; a tag whose history
	// swings more than that (bursty, or with a daily rhythm) is judged
	// against its own spread instead, so its usual peaks do not trend.
	variance := math.Max(expected, p.MinExpected)
	if k > 1 {
		mean := sum / k
		var ss float64
		for _, n := range baseline {
			d := float64(n) - mean
			ss += d * d
		}
		variance = math.Max(variance, ss/(k-1))
	}
	score = (float64(observed) - expected) / math.Sqrt(variance)
	return expected, score
}

// Trends reports whether a tag with this count and score is listed.
func (p Params) Trends(observed uint64, score float64) bool {
	return observed >= p.MinCount && score > p.MinScore
}

// Rank scores every tag from its slot counts (slots[0] is the current
// window, slots[1:] the baseline, most recent first), keeps those that
// trend and returns at most limit of them, highest score first. Display is
// left empty.
func (p Params) Rank(slots map[string][]uint64, limit int) []Trend {
	out := make([]Trend, 0, len(slots))
	for tag, counts := range slots {
		if len(counts) == 0 {
			continue
		}
		expected, score := p.Score(counts[0], counts[1:])
		if !p.Trends(counts[0], score) {
			continue
		}
		out = append(out, Trend{Tag: tag, Count: counts[0], Expected: round(expected, 3), Score: round(score, 3)})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Tag < b.Tag
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// HistoryWindows returns how many of the BaselineWindows windows the
// score of the window asked at at compares with (they end at BaselineEnd)
// the stored posts of ext cover: a window counts once the first stored
// minute is at or before its start. It is BaselineWindows when the posts
// reach back far enough and 0 when they start after the first baseline
// window's start (or there are none).
func (p Params) HistoryWindows(ext Extent, at time.Time, window time.Duration) int {
	if ext.Empty {
		return 0
	}
	covered := BaselineEnd(at, window).Sub(ext.First) / window
	return int(max(0, min(int64(covered), int64(p.BaselineWindows))))
}

// BaselineEnd is where the baseline windows of a trending question end:
// the start of the hour (or day) that holds the current window's start
// when the window is whole hours (or days), else that start itself
// (docs/trends.md).
func BaselineEnd(at time.Time, window time.Duration) time.Time {
	from, _ := Span(at, window)
	return from.Truncate(baselineBucket(window))
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
