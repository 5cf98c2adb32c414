package source

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type webhookMetrics struct {
	requests *prometheus.CounterVec
}

// webhookCodes are the statuses the webhook answers with; they are exported
// from the start so dashboards see zeros rather than gaps.
var webhookCodes = []int{202, 400, 401, 405, 413, 415, 429, 503}

func newWebhookMetrics(reg prometheus.Registerer) *webhookMetrics {
	m := &webhookMetrics{
		requests: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_ingest_webhook_requests_total",
			Help: "Webhook requests by HTTP status code.",
		}, []string{"code"}),
	}
	for _, c := range webhookCodes {
		m.requests.WithLabelValues(strconv.Itoa(c))
	}
	return m
}

// Kinds of stream events that are read but publish no post, as
// tagpulse_ingest_source_events_skipped_total labels them.
const (
	SkipDelete   = "delete"   // a delete of a post the source never read: no tombstone can be made
	SkipUpdate   = "update"   // a post edited: it was counted when created
	SkipIdentity = "identity" // a Bluesky identity event (handle change)
	SkipAccount  = "account"  // a Bluesky account event (status change)
	SkipFiltered = "filtered" // a post left out by the source's filters
	SkipEmpty    = "empty"    // a post with neither text nor tags (an image alone)
	SkipProfile  = "profile"  // a Bluesky profile commit, read for its bot self-label only
	SkipOther    = "other"    // any other event (another collection, a notification, …)
)

// SkipKinds lists every kind of skipped event.
var SkipKinds = []string{SkipDelete, SkipUpdate, SkipIdentity, SkipAccount, SkipFiltered, SkipEmpty, SkipProfile, SkipOther}

// Metrics are the metrics sources keep themselves; the runner (package
// ingest) counts the posts they emit.
type Metrics struct {
	skipped *prometheus.CounterVec
	// blueskyAccounts is, per Bluesky source, how many accounts it
	// remembers by their profile's labels (blueskyAccounts).
	blueskyAccounts *prometheus.GaugeVec
}

// NewMetrics registers the sources' metrics on reg; give every source of
// a process the same one (Options.Metrics).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	return &Metrics{
		skipped: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_ingest_source_events_skipped_total",
			Help: "Events of a stream read but neither published as posts nor as tombstones, by kind: delete (of a post never read), update, identity, account, filtered, empty, profile, other.",
		}, []string{"source", "kind"}),
		blueskyAccounts: promauto.With(reg).NewGaugeVec(prometheus.GaugeOpts{
			Name: "tagpulse_ingest_bluesky_labelled_accounts",
			Help: "Accounts a Bluesky source remembers by their profile's self-labels: the DIDs whose profile, updated while it streamed, self-labels the account bot or !no-unauthenticated (at most 100,000).",
		}, []string{"source"}),
	}
}

// init exports the skipped series of a source at zero.
func (m *Metrics) init(name string) {
	for _, k := range SkipKinds {
		m.skipped.WithLabelValues(name, k)
	}
}

func (m *Metrics) skip(name, kind string) { m.skipped.WithLabelValues(name, kind).Inc() }
