package aggregator

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the aggregate metrics of docs/metrics.md.
type Metrics struct {
	MessagesConsumed prometheus.Counter
	RowsInserted     *prometheus.CounterVec
	Tombstones       prometheus.Counter
	BatchSize        prometheus.Histogram
	InsertDuration   prometheus.Histogram
	LagMessages      *prometheus.GaugeVec
	LagSeconds       *prometheus.GaugeVec
	Freshness        *prometheus.HistogramVec
	DLQMessages      *prometheus.CounterVec
	Retries          *prometheus.CounterVec
	Errors           *prometheus.CounterVec
	LastFlush        prometheus.Gauge
	Ready            prometheus.Gauge
	// PoisonGuardTripped is 1 while the share of poison is above the
	// guard's limit.
	PoisonGuardTripped prometheus.Gauge
	// TopicRetention is the retention of the posts topic and its
	// dead-letter topic as the brokers apply it, read at start.
	TopicRetention *prometheus.GaugeVec
}

// Label values known at start-up; each is exported from the start so that
// dashboards and alerts find every series before the first event.
var (
	dlqReasons     = []string{"invalid_json", "invalid_utf8", "missing_field", "wrong_type", "too_large", "invalid_value", "other"}
	retryOps       = []string{opInsert, opCommit, opDLQ, opFetch}
	errorKinds     = []string{kindInsert, kindFetch, kindCommit, kindDLQ, kindLag, kindPoisonRate}
	freshnessClock = []string{"created_at", "kafka"}
)

const (
	opInsert = "insert"
	opCommit = "commit"
	opDLQ    = "dlq"
	opFetch  = "fetch"

	kindInsert     = "clickhouse_insert"
	kindFetch      = "kafka_fetch"
	kindCommit     = "kafka_commit"
	kindDLQ        = "dlq_write"
	kindLag        = "lag_check"
	kindPoisonRate = "poison_rate"
)

// NewMetrics registers the aggregate metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		MessagesConsumed: f.NewCounter(prometheus.CounterOpts{
			Name: "tagpulse_aggregate_messages_consumed_total",
			Help: "Kafka messages read.",
		}),
		Tombstones: f.NewCounter(prometheus.CounterOpts{
			Name: "tagpulse_aggregate_tombstones_total",
			Help: "Tombstones (posts deleted at their source) stored.",
		}),
		RowsInserted: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_aggregate_rows_inserted_total",
			Help: "Rows written to ClickHouse.",
		}, []string{"table"}),
		BatchSize: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "tagpulse_aggregate_batch_size_rows",
			Help:    "Rows per insert batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10),
		}),
		InsertDuration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "tagpulse_aggregate_insert_duration_seconds",
			Help:    "Time of one batch insert.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2.5, 12),
		}),
		LagMessages: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tagpulse_aggregate_consumer_lag_messages",
			Help: "High-water mark minus committed offset, per partition.",
		}, []string{"partition"}),
		LagSeconds: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tagpulse_aggregate_consumer_lag_seconds",
			Help: "Age of the oldest message not yet committed, per partition.",
		}, []string{"partition"}),
		Freshness: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tagpulse_aggregate_freshness_seconds",
			Help:    "Time from post created_at (clock=created_at) or Kafka timestamp (clock=kafka) to insert.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400},
		}, []string{"clock"}),
		DLQMessages: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_aggregate_dlq_messages_total",
			Help: "Messages sent to the dead-letter topic, by reason.",
		}, []string{"reason"}),
		Retries: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_aggregate_retries_total",
			Help: "Retried operations (insert, commit, dlq, fetch).",
		}, []string{"operation"}),
		Errors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_aggregate_errors_total",
			Help: "Errors by kind.",
		}, []string{"kind"}),
		LastFlush: f.NewGauge(prometheus.GaugeOpts{
			Name: "tagpulse_aggregate_last_flush_timestamp_seconds",
			Help: "Unix time of the last successful flush.",
		}),
		Ready: f.NewGauge(prometheus.GaugeOpts{
			Name: "tagpulse_aggregate_ready",
			Help: "1 when /readyz is true.",
		}),
		PoisonGuardTripped: f.NewGauge(prometheus.GaugeOpts{
			Name: "tagpulse_aggregate_poison_guard_tripped",
			Help: "1 while poison is above the guard's limit (--poison-window, --poison-max): a producer may be writing another format.",
		}),
		TopicRetention: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tagpulse_aggregate_topic_retention_seconds",
			Help: "Retention of the posts topic and its dead-letter topic as the brokers apply it (-1: never expires), read when run starts: how far back replay, rebuild and dlq replay can read.",
		}, []string{"topic"}),
	}
	m.RowsInserted.WithLabelValues("mentions")
	m.RowsInserted.WithLabelValues("posts")
	for _, v := range dlqReasons {
		m.DLQMessages.WithLabelValues(v)
	}
	for _, v := range retryOps {
		m.Retries.WithLabelValues(v)
	}
	for _, v := range errorKinds {
		m.Errors.WithLabelValues(v)
	}
	for _, v := range freshnessClock {
		m.Freshness.WithLabelValues(v)
	}
	return m
}

// initPartitions exports the lag gauges of every partition of the topic.
func (m *Metrics) initPartitions(partitions []int) {
	for _, p := range partitions {
		m.LagMessages.WithLabelValues(strconv.Itoa(p))
		m.LagSeconds.WithLabelValues(strconv.Itoa(p))
	}
}

// initTopics exports the retention gauge of each topic (0 until the
// brokers have answered).
func (m *Metrics) initTopics(topics ...string) {
	for _, t := range topics {
		m.TopicRetention.WithLabelValues(t)
	}
}
