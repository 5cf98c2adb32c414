package rollup

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the rollup worker's: how far behind it is and what a
// recompute costs.
type Metrics struct {
	BacklogDays      prometheus.Gauge
	LagSeconds       prometheus.Gauge
	RecomputeSeconds prometheus.Histogram
	Failures         prometheus.Counter
}

// NewMetrics registers the worker's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		BacklogDays: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tagpulse_rollup_backlog_days",
			Help: "Days whose hour or day rollups are behind the rows stored in mentions (reads use mentions for them meanwhile).",
		}),
		LagSeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tagpulse_rollup_lag_seconds",
			Help: "How long the oldest mark of a day still behind has waited.",
		}),
		RecomputeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tagpulse_rollup_recompute_seconds",
			Help:    "Time to recompute the rollups of a batch of days (up to 31, staged together) from mentions.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}),
		Failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tagpulse_rollup_failures_total",
			Help: "Rollup rounds that failed; the next round retries.",
		}),
	}
	reg.MustRegister(m.BacklogDays, m.LagSeconds, m.RecomputeSeconds, m.Failures)
	return m
}

func (m *Metrics) backlog(b Backlog) {
	if m == nil {
		return
	}
	m.BacklogDays.Set(float64(len(b.Days)))
	m.LagSeconds.Set(b.Oldest.Seconds())
}

func (m *Metrics) recomputed(d time.Duration) {
	if m != nil {
		m.RecomputeSeconds.Observe(d.Seconds())
	}
}

func (m *Metrics) failed() {
	if m != nil {
		m.Failures.Inc()
	}
}
