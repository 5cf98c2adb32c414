package publish

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/segmentio/kafka-go"
)

type metrics struct {
	latency      prometheus.Histogram
	writeErrors  prometheus.Counter
	retries      prometheus.Counter
	requiredAcks prometheus.Gauge
}

// newMetrics registers the publisher's metrics; acks is the writer's
// RequiredAcks, exported as Kafka's own acks number (-1 = all in-sync
// replicas) so a dashboard or alert can see what durability ingest asks for.
func newMetrics(reg prometheus.Registerer, acks kafka.RequiredAcks) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		latency: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "tagpulse_ingest_publish_latency_seconds",
			Help:    "Time from handing a post to the Kafka writer to its acknowledgement.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		writeErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "tagpulse_ingest_kafka_write_errors_total",
			Help: "Kafka writes (one per message) that failed after the writer's retries.",
		}),
		retries: f.NewCounter(prometheus.CounterOpts{
			Name: "tagpulse_ingest_kafka_write_retries_total",
			Help: "Messages written again after a write failed for a reason that passes (a broker down, leadership moving, too few in-sync replicas).",
		}),
		requiredAcks: f.NewGauge(prometheus.GaugeOpts{
			Name: "tagpulse_ingest_kafka_required_acks",
			Help: "The acks the Kafka writer asks of each produce request, as Kafka numbers them: -1 = all in-sync replicas, 1 = the leader, 0 = none.",
		}),
	}
	m.requiredAcks.Set(float64(acks))
	return m
}
