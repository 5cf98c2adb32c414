package publish

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	latency     prometheus.Histogram
	writeErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		latency: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "tagpulse_ingest_publish_latency_seconds",
			Help:    "Time from handing a post to the Kafka writer to its acknowledgement.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		writeErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "tagpulse_ingest_kafka_write_errors_total",
			Help: "Kafka writes (one per message) that failed after the writer's retries.",
		}),
	}
}
