package trend

import (
	"math"
	"slices"
	"time"
)

// RisingSince says when a tag started rising, from its chart: the start of
// the first step of the run of high steps that reaches the chart's end.
//
//   - The usual level is the median count of the steps that end by from
//     (the window's start): a median, so that a rise spilling over the
//     window's start does not raise its own bar.
//   - A step is high when its count is at least the usual level plus three
//     times its square root (three standard deviations of a Poisson count),
//     and at least 3 posts.
//   - The last step may still be filling at at: if it is not high yet, the
//     run may end at the step before it.
//
// It returns nil when the last steps are not high, or when no step ends by
// from (there is no usual level to compare with).
func RisingSince(points []Point, from, at time.Time) *time.Time {
	var before []float64
	for _, p := range points {
		if !p.End.After(from) {
			before = append(before, float64(p.Count))
		}
	}
	if len(before) == 0 || len(points) == 0 {
		return nil
	}
	usual := median(before)
	bar := max(usual+3*math.Sqrt(usual), 3)
	high := func(p Point) bool { return float64(p.Count) >= bar }
	end := len(points)
	if last := points[end-1]; last.End.After(at) && !high(last) {
		end--
	}
	start := end
	for start > 0 && high(points[start-1]) {
		start--
	}
	if start == end {
		return nil
	}
	t := points[start].Time
	return &t
}

// median returns the median of xs (not empty); xs is sorted in place.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
