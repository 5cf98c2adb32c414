package kafkaclient

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// The times a Kafka timestamp lookup (ListOffsets) can select. Kafka
// timestamps are milliseconds since 1970; negative values are requests
// ("latest", "earliest"), not times. kafka-go converts a time through
// time.UnixNano, which ends in April 2262; later times wrap around to
// negative numbers, which the broker answers with "Unsupported Version".
var (
	MinTimestamp = time.Unix(0, 0).UTC()
	MaxTimestamp = time.Unix(0, math.MaxInt64).UTC().Truncate(time.Millisecond)
)

// ErrTimestampRange matches the error of CheckTimestamp.
var ErrTimestampRange = errors.New("time outside the range of Kafka timestamps")

// CheckTimestamp reports whether t can be looked up as a Kafka timestamp.
func CheckTimestamp(t time.Time) error {
	if t.Before(MinTimestamp) || t.After(MaxTimestamp) {
		return fmt.Errorf("%s is outside %s to %s: %w", t.UTC().Format(time.RFC3339), MinTimestamp.Format(time.RFC3339), MaxTimestamp.Format(time.RFC3339), ErrTimestampRange)
	}
	return nil
}
