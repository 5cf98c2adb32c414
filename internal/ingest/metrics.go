package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"tagpulse/internal/source"
)

// rejectReasons are the reasons post.Reason returns.
var rejectReasons = []string{"invalid_json", "invalid_utf8", "missing_field", "wrong_type", "too_large", "invalid_value", "other"}

// Reasons a hashtag is left out of a message (see hashtag.Dropped).
const (
	dropTooLong = "too_long"
	dropTooMany = "too_many"
)

type metrics struct {
	tagsDropped   *prometheus.CounterVec
	fetched       *prometheus.CounterVec
	published     *prometheus.CounterVec
	duplicate     *prometheus.CounterVec
	rejected      *prometheus.CounterVec
	fetchErrors   *prometheus.CounterVec
	fetchDuration *prometheus.HistogramVec
	hashtags      *prometheus.CounterVec
	tombstones    *prometheus.CounterVec
	skipped       *prometheus.CounterVec
	lastSuccess   *prometheus.GaugeVec
	up            *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	src := []string{"source"}
	return &metrics{
		fetched: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_ingest_posts_fetched_total",
			Help: "Posts read from a source.",
		}, src),
		published: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_ingest_posts_published_total",
			Help: "Posts acknowledged by Kafka, tombstones included.",
		}, src),
		tombstones: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_ingest_tombstones_total",
			Help: "Tombstones (deleted posts) acknowledged by Kafka.",
		}, src),
		skipped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_ingest_posts_skipped_total",
			Help: "Valid posts not published, by reason: not_public (unlisted, private, direct), excluded (an excluded account or instance).",
		}, []string{"source", "reason"}),
		duplicate: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_ingest_posts_duplicate_total",
			Help: "Posts skipped because the source's cursor had seen them.",
		}, src),
		rejected: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_ingest_posts_rejected_total",
			Help: "Posts refused, by reason.",
		}, []string{"source", "reason"}),
		fetchErrors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_ingest_fetch_errors_total",
			Help: "Failed fetches, by reason.",
		}, []string{"source", "reason"}),
		fetchDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tagpulse_ingest_fetch_duration_seconds",
			Help:    "Time to fetch and parse one poll of a source.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, src),
		hashtags: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_ingest_hashtags_extracted_total",
			Help: "Distinct hashtags found in published posts.",
		}, src),
		tagsDropped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_ingest_hashtags_dropped_total",
			Help: "Hashtags left out of published posts, by reason: too_long (over hashtag.MaxTagBytes), too_many (past hashtag.MaxTagsPerPost).",
		}, []string{"source", "reason"}),
		lastSuccess: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tagpulse_ingest_last_success_timestamp_seconds",
			Help: "Unix time of the source's last successful fetch.",
		}, src),
		up: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tagpulse_ingest_source_up",
			Help: "1 when the source's last fetch succeeded, else 0.",
		}, src),
	}
}

// init exports every series of a source from the start, at zero.
func (m *metrics) init(name string, pulled bool) {
	m.fetched.WithLabelValues(name)
	m.published.WithLabelValues(name)
	m.duplicate.WithLabelValues(name)
	m.hashtags.WithLabelValues(name)
	m.tombstones.WithLabelValues(name)
	for _, r := range SkipReasons {
		m.skipped.WithLabelValues(name, r)
	}
	m.tagsDropped.WithLabelValues(name, dropTooLong)
	m.tagsDropped.WithLabelValues(name, dropTooMany)
	for _, r := range rejectReasons {
		m.rejected.WithLabelValues(name, r)
	}
	if !pulled {
		return
	}
	m.fetchDuration.WithLabelValues(name)
	m.lastSuccess.WithLabelValues(name)
	m.up.WithLabelValues(name)
	for _, r := range source.FetchReasons {
		m.fetchErrors.WithLabelValues(name, r)
	}
}
