package source

import (
	"fmt"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"

	"tagpulse/internal/post"
)

// maxBlueskyAccounts bounds the accounts a Bluesky source remembers by
// the self-labels of their profile records, seen while it streamed: "bot"
// (an automated account) and "!no-unauthenticated" (the author asks not to
// be shown to people who are not logged in). Past it, the account seen
// least recently (its profile updated, or a post of it read) is forgotten,
// and its next posts are taken as unlabelled until its profile is updated.
// A remembered DID costs about 150 bytes (a did:plc is 32), so the bound
// holds the set to about 15 MB.
const maxBlueskyAccounts = 100_000

// accountLabels are the self-labels of an account's profile that change
// how its posts count or show.
type accountLabels struct {
	// bot: the account is automated; its posts count nowhere.
	bot bool
	// unindexable: the account asks not to be shown to the logged out;
	// its posts count, without text or author.
	unindexable bool
}

// profileLabels reads them from a profile record's self-labels.
func profileLabels(l selfLabels) accountLabels {
	return accountLabels{bot: l.has(botLabel), unindexable: l.has(noUnauthenticated)}
}

// blueskyAccounts is the bounded set of the DIDs a Bluesky source knows
// labels of. Only labelled accounts are held. It is safe for concurrent
// use; the source's pump is its only writer, which keeps profile updates
// and posts in the stream's order.
type blueskyAccounts struct {
	dids  *lru.Cache[string, accountLabels]
	gauge prometheus.Gauge // the DIDs held
}

// newBlueskyAccounts returns an empty set of at most size DIDs, whose size
// gauge is set as it changes.
func newBlueskyAccounts(size int, gauge prometheus.Gauge) (*blueskyAccounts, error) {
	c, err := lru.New[string, accountLabels](size)
	if err != nil {
		return nil, fmt.Errorf("making the set of labelled accounts: %w", err)
	}
	gauge.Set(0)
	return &blueskyAccounts{dids: c, gauge: gauge}, nil
}

// set remembers did's labels, or forgets did when it has none. A DID
// longer than any post's author may be is not remembered: its posts are
// rejected anyway.
func (s *blueskyAccounts) set(did string, l accountLabels) {
	switch {
	case l == accountLabels{}:
		s.dids.Remove(did)
	case len(did) <= post.MaxFieldBytes:
		s.dids.Add(did, l)
	}
	s.gauge.Set(float64(s.dids.Len()))
}

// labels returns what is known of did's labels (none when it is not
// held), and makes it the most recently seen.
func (s *blueskyAccounts) labels(did string) accountLabels {
	l, _ := s.dids.Get(did)
	return l
}
