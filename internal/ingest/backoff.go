package ingest

import (
	"math/rand/v2"
	"time"
)

// backoff returns the wait after the n-th failure in a row: min doubled
// n-1 times, capped at max, then drawn uniformly from its upper half
// ("equal jitter"), so sources failing together do not retry in step.
func backoff(min, max time.Duration, n int) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
