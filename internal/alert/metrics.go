package alert

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the alert metrics of docs/metrics.md. A rule name or a tag
// is never a label.
type Metrics struct {
	// Evaluations counts evaluations of all rules, by outcome (ok, error).
	Evaluations *prometheus.CounterVec
	// Fired counts (rule, tag) pairs found above their threshold, before
	// the cooldown is applied.
	Fired prometheus.Counter
	// Suppressed counts firings not sent, by reason (cooldown: sent within
	// the cooldown; claimed: another replica's claim came first).
	Suppressed *prometheus.CounterVec
	// Sent counts alerts delivered to a webhook, by format.
	Sent *prometheus.CounterVec
	// SendFailures counts alerts a webhook did not accept after every
	// retry, by format.
	SendFailures *prometheus.CounterVec
	// SendRetries counts failed attempts that were retried, by format.
	SendRetries *prometheus.CounterVec
}

// NewMetrics registers the alert metrics with reg, every label value
// exported from the start.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		Evaluations: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_alerts_evaluations_total",
			Help: "Evaluations of the alert rules, by outcome (ok, error).",
		}, []string{"outcome"}),
		Fired: f.NewCounter(prometheus.CounterOpts{
			Name: "tagpulse_alerts_fired_total",
			Help: "Rule and tag pairs found at or above their threshold, before the cooldown.",
		}),
		Suppressed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_alerts_suppressed_total",
			Help: "Firings not sent, by reason (cooldown, claimed by another replica).",
		}, []string{"reason"}),
		Sent: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_alerts_sent_total",
			Help: "Alerts a webhook accepted, by body format.",
		}, []string{"format"}),
		SendFailures: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_alerts_send_failures_total",
			Help: "Alerts a webhook did not accept after every retry, by body format.",
		}, []string{"format"}),
		SendRetries: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tagpulse_alerts_send_retries_total",
			Help: "Failed webhook posts that were retried, by body format.",
		}, []string{"format"}),
	}
	for _, o := range []string{"ok", "error"} {
		m.Evaluations.WithLabelValues(o)
	}
	for _, r := range []string{reasonCooldown, reasonClaimed} {
		m.Suppressed.WithLabelValues(r)
	}
	for _, fm := range []Format{FormatSlack, FormatJSON} {
		m.Sent.WithLabelValues(string(fm))
		m.SendFailures.WithLabelValues(string(fm))
		m.SendRetries.WithLabelValues(string(fm))
	}
	return m
}

const (
	reasonCooldown = "cooldown"
	reasonClaimed  = "claimed"
)
