package trend

import "time"

// The times ClickHouse's DateTime can hold, and so the times a window may
// cover: a window reaching outside them would be answered as empty, which
// reads as "no posts" rather than "out of range".
var (
	MinTime = time.Unix(0, 0).UTC()
	MaxTime = time.Unix(1<<32-1, 0).UTC() // 2106-02-07T06:28:15Z
)

// validateAt checks that the query time is set and that the window ending
// with its minute lies within MinTime and MaxTime.
func validateAt(at time.Time, window time.Duration) error {
	if at.IsZero() {
		return invalid("query time is not set")
	}
	f := newFrame(at, window)
	if f.start(0) < MinTime.Unix() || f.end > MaxTime.Unix() {
		return invalid("at %s: the window of %s ending then must lie between %s and %s",
			at.UTC().Format(time.RFC3339), FormatDuration(window), MinTime.Format(time.RFC3339), MaxTime.Format(time.RFC3339))
	}
	return nil
}
