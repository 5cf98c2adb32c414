package web

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the tagpulse_api_* metrics of docs/metrics.md.
type metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	storeQueries *prometheus.CounterVec
	cacheHits    *prometheus.CounterVec
	hostRefused  prometheus.Counter
}

// newMetrics builds the metrics of the handlers (every route) and of the
// API routes (the queries); inFlight reads the queries running now.
func newMetrics(reg prometheus.Registerer, handlers, apiRoutes []string, inFlight func() int) *metrics {
	f := promauto.With(reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tagpulse_api_queries_in_flight",
		Help: "Trend queries of the API running now (bounded by --api-max-in-flight).",
	}, func() float64 { return float64(inFlight()) })
	m := &metrics{
		storeQueries: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_api_store_queries_total",
			Help: "Trend queries the API sent to ClickHouse, by handler.",
		}, []string{"handler"}),
		hostRefused: f.NewCounter(prometheus.CounterOpts{
			Name: "tagpulse_api_host_refused_total",
			Help: "Requests answered 421 because their Host header is not one of the server's names (--api-allowed-hosts).",
		}),
		cacheHits: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_api_cache_hits_total",
			Help: "API answers served without a query of their own (kept for --api-cache-ttl, or shared with an identical query in flight), by handler.",
		}, []string{"handler"}),
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_api_requests_total",
			Help: "Trend API and page requests by handler and HTTP status code.",
		}, []string{"handler", "code"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tagpulse_api_request_duration_seconds",
			Help:    "Time to answer a trend API or page request.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"handler"}),
	}
	// Export every series a dashboard reads from the start.
	for _, h := range handlers {
		m.requests.WithLabelValues(h, "200")
		m.duration.WithLabelValues(h)
	}
	for _, h := range apiRoutes {
		m.storeQueries.WithLabelValues(h)
		m.cacheHits.WithLabelValues(h)
	}
	return m
}

// instrument counts and times the requests of one handler.
func (m *metrics) instrument(name string, h http.Handler) http.Handler {
	labels := prometheus.Labels{"handler": name}
	return promhttp.InstrumentHandlerDuration(m.duration.MustCurryWith(labels),
		promhttp.InstrumentHandlerCounter(m.requests.MustCurryWith(labels), h))
}
