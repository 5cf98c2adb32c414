package source

import (
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimitedClients bounds the token buckets the webhook keeps; past it,
// buckets idle long enough to be full again are forgotten.
const maxLimitedClients = 10000

// clientLimiter is a token bucket per client address: each client may make
// perSecond requests a second on average and burst in a row. Clients behind
// one proxy share its bucket.
type clientLimiter struct {
	perSecond rate.Limit
	burst     int
	now       func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

func newClientLimiter(perSecond float64, burst int, now func() time.Time) *clientLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &clientLimiter{perSecond: rate.Limit(perSecond), burst: max(burst, 1), now: now, buckets: map[string]*bucket{}}
}

// allow takes a token from the client's bucket. When there is none it
// returns false and how long until there is.
func (l *clientLimiter) allow(r *http.Request) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	client, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		client = r.RemoteAddr
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[client]
	if b == nil {
		if len(l.buckets) >= maxLimitedClients {
			l.forgetIdle(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.perSecond, l.burst)}
		l.buckets[client] = b
	}
	b.last = now
	res := b.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// forgetIdle drops the buckets that have refilled completely: a new bucket
// would be the same. If every client is active, it starts over rather than
// grow without bound.
func (l *clientLimiter) forgetIdle(now time.Time) {
	full := time.Duration(float64(l.burst) / float64(l.perSecond) * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxLimitedClients {
		clear(l.buckets)
	}
}

// retryAfterSeconds is the Retry-After value for a wait: whole seconds,
// rounded up, at least one.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
