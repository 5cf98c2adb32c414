package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Reasons a fetch fails, as the fetch error metric labels them.
const (
	ReasonHTTPStatus  = "http_status"
	ReasonTimeout     = "timeout"
	ReasonNetwork     = "network"
	ReasonParse       = "parse"
	ReasonRateLimited = "rate_limited"
	ReasonTooLarge    = "too_large"
	ReasonIO          = "io"
	ReasonState       = "state"
	ReasonOther       = "other"
)

// FetchReasons lists every reason FetchReason returns.
var FetchReasons = []string{ReasonHTTPStatus, ReasonTimeout, ReasonNetwork, ReasonParse, ReasonRateLimited, ReasonTooLarge, ReasonIO, ReasonState, ReasonOther}

// FetchError is a failed poll with its reason and, for rate limits, how long
// the server asked the client to wait.
type FetchError struct {
	Reason     string
	RetryAfter time.Duration
	Err        error
}

func (e *FetchError) Error() string { return e.Err.Error() }
func (e *FetchError) Unwrap() error { return e.Err }

func fetchErr(reason string, format string, args ...any) error {
	return &FetchError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// FetchReason returns the metric reason of a poll error.
func FetchReason(err error) string {
	var fe *FetchError
	if errors.As(err, &fe) {
		return fe.Reason
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout
	case errors.As(err, &ne):
		return ReasonNetwork
	}
	return ReasonOther
}

// RetryAfter returns how long a rate-limited source asked to wait, or 0.
func RetryAfter(err error) time.Duration {
	var fe *FetchError
	if errors.As(err, &fe) {
		return fe.RetryAfter
	}
	return 0
}
