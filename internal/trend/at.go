package trend

import "time"

// The times ClickHouse's DateTime can hold, and so the times a window may
// cover: a window reaching outside them would be answered as empty, which
// reads as "no posts" rather than "out of range".
var (
	MinTime = time.Unix(0, 0).UTC()
	MaxTime = time.Unix(1<<32-1, 0).UTC() // 2106-02-07T06:28:15Z
)

// ParseAt reads the time a question is asked of, as the CLI's --at and
// the API's at give it (name is how the caller calls it): an RFC 3339 time.
// Its error is an ErrInvalidQuery.
func ParseAt(name, value string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return time.Time{}, invalid("%s %q: want an RFC 3339 time such as 2025-11-20T14:00:00Z", name, value)
	}
	return t, nil
}

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
