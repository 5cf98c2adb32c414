package aggregator

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Readiness follows what the consumer's parts report, and the gauge
// always says the same as Ready.
func TestHealth(t *testing.T) {
	tests := []struct {
		name  string
		steps func(h *health)
		ready bool
	}{
		{"not started", func(*health) {}, false},
		{"started", func(h *health) { h.started() }, true},
		{"stopped", func(h *health) { h.started(); h.stopped() }, false},
		{"a fetch failing", func(h *health) { h.started(); h.failing(opFetch) }, false},
		{"a fetch recovered", func(h *health) { h.started(); h.failing(opFetch); h.recovered(opFetch) }, true},
		{"an insert being retried", func(h *health) { h.started(); h.failing(opInsert) }, false},
		{"a fetch recovering does not end an insert's retry", func(h *health) {
			h.started()
			h.failing(opInsert)
			h.failing(opFetch)
			h.recovered(opFetch)
		}, false},
		{"an insert recovered and its batch flushed", func(h *health) {
			h.started()
			h.failing(opInsert)
			h.recovered(opInsert)
			h.stored()
			h.flushed()
		}, true},
		{"a ping failing while nothing is retried", func(h *health) { h.started(); h.probed(false) }, false},
		{"a ping answering again", func(h *health) { h.started(); h.probed(false); h.probed(true) }, true},
		{"a ping succeeding during an insert's retry changes nothing", func(h *health) {
			h.started()
			h.failing(opInsert)
			h.probed(true)
		}, false},
		{"a dead-letter write being retried", func(h *health) { h.started(); h.failing(opDLQ) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "ready"})
			h := newHealth(g)
			tt.steps(h)
			if got := h.ready(); got != tt.ready {
				t.Errorf("ready() = %v, want %v", got, tt.ready)
			}
			want := 0.0
			if tt.ready {
				want = 1
			}
			if got := testutil.ToFloat64(g); got != want {
				t.Errorf("gauge = %v, want %v", got, want)
			}
		})
	}
}
