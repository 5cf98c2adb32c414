package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// NewHTTPClient returns the client feeds and timelines are fetched with:
// bounded dial, TLS handshake, response header and overall times (the
// overall one also ends a body that never finishes), at most five
// redirects, each to an http or https URL of an allowed host (every host
// when allowHosts is empty; see HostAllowed).
func NewHTTPClient(timeout time.Duration, allowHosts ...string) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: timeout,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   2,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return fmt.Errorf("more than 5 redirects: %w", errRedirect)
			}
			if err := checkURL(req.URL.String(), allowHosts); err != nil {
				return fmt.Errorf("%w: %w", errRedirect, err)
			}
			return nil
		},
	}
}

// errRedirect marks a redirect the client refuses to follow.
var errRedirect = errors.New("redirect refused")

const userAgent = "tagpulse-ingest/1 (+https://github.com/tagpulse)"

// response is a fetched HTTP response with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// get fetches url with the extra request headers and reads at most max
// bytes of the body. A 304 is returned as it is; 429 and other statuses
// outside 2xx are FetchErrors.
func get(ctx context.Context, client *http.Client, url string, hdr http.Header, max int64, now time.Time) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fetchErr(ReasonOther, "building request: %w", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	if err != nil {
		reason := FetchReason(err)
		if errors.Is(err, errRedirect) {
			// The server answered, with a redirect we do not follow: not
			// a network fault.
			reason = ReasonHTTPStatus
		}
		return nil, &FetchError{Reason: reason, Err: fmt.Errorf("fetching %s: %w", redact(req), err)}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return &response{status: resp.StatusCode, header: resp.Header}, nil
	case resp.StatusCode == http.StatusTooManyRequests:
		asked := retryAfter(resp.Header, now)
		wait := capWait(asked)
		note := ""
		if wait != asked {
			note = fmt.Sprintf(" (the server asked for %s; capped at MaxRetryAfter)", asked)
		}
		return nil, &FetchError{Reason: ReasonRateLimited, RetryAfter: wait,
			Err: fmt.Errorf("fetching %s: rate limited (HTTP 429), retry after %s%s", redact(req), wait, note)}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, fetchErr(ReasonHTTPStatus, "fetching %s: HTTP %d", redact(req), resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, &FetchError{Reason: FetchReason(err), Err: fmt.Errorf("reading %s: %w", redact(req), err)}
	}
	if int64(len(body)) > max {
		return nil, fetchErr(ReasonTooLarge, "reading %s: body over %d bytes", redact(req), max)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// redact drops the query string, which may carry access tokens.
func redact(req *http.Request) string {
	u := *req.URL
	u.RawQuery = ""
	u.User = nil
	return u.String()
}

// MaxRetryAfter caps how long a server's Retry-After or X-RateLimit-Reset
// may pause a source: a hostile or broken server asking for 999999999
// seconds would otherwise stop the source for 31 years. A rate limit
// still in force after the cap just earns another 429 and another wait.
const MaxRetryAfter = 15 * time.Minute

// capWait bounds a wait a server asked for by MaxRetryAfter.
func capWait(d time.Duration) time.Duration { return min(d, MaxRetryAfter) }

// retryAfter reads how long to wait from Retry-After (seconds or an HTTP
// date) or, failing that, Mastodon's X-RateLimit-Reset (an ISO 8601 time).
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		s, err := strconv.ParseInt(v, 10, 64)
		if errors.Is(err, strconv.ErrRange) && s > 0 {
			return 365 * 24 * time.Hour // more seconds than an int64 holds: at least a year
		}
		if err == nil && s >= 0 {
			// Beyond a year of seconds a Duration may overflow; the cap
			// is far below anyway.
			return time.Duration(min(s, int64(365*24*3600))) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	return untilReset(h, now)
}

func untilReset(h http.Header, now time.Time) time.Duration {
	if v := h.Get("X-RateLimit-Reset"); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	return 0
}
