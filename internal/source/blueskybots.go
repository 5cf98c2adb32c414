package source

import (
	"fmt"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"

	"tagpulse/internal/post"
)

// maxBlueskyBots bounds the accounts a Bluesky source remembers as bots:
// the DIDs whose profile record, seen while it streamed, self-labels the
// account "bot". Past it, the account seen least recently (its profile
// updated, or a post of it read) is forgotten, and its next posts count
// again until its profile is updated. A remembered DID costs about 150
// bytes (a did:plc is 32), so the bound holds the set to about 15 MB.
const maxBlueskyBots = 100_000

// blueskyBots is the bounded set of the DIDs a Bluesky source takes for
// bots. It is safe for concurrent use; the source's pump is its only
// writer, which keeps profile updates and posts in the stream's order.
type blueskyBots struct {
	dids  *lru.Cache[string, struct{}]
	gauge prometheus.Gauge // the DIDs held
}

// newBlueskyBots returns an empty set of at most size DIDs, whose size
// gauge is set as it changes.
func newBlueskyBots(size int, gauge prometheus.Gauge) (*blueskyBots, error) {
	c, err := lru.New[string, struct{}](size)
	if err != nil {
		return nil, fmt.Errorf("making the set of bot accounts: %w", err)
	}
	gauge.Set(0)
	return &blueskyBots{dids: c, gauge: gauge}, nil
}

// set remembers did as a bot, or forgets it. A DID longer than any post's
// author may be is not remembered: its posts are rejected anyway.
func (s *blueskyBots) set(did string, bot bool) {
	switch {
	case !bot:
		s.dids.Remove(did)
	case len(did) <= post.MaxFieldBytes:
		s.dids.Add(did, struct{}{})
	}
	s.gauge.Set(float64(s.dids.Len()))
}

// has reports whether did is remembered as a bot, and if so makes it the
// most recently seen.
func (s *blueskyBots) has(did string) bool {
	_, ok := s.dids.Get(did)
	return ok
}
