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
