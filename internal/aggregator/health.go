package aggregator

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// health owns the readiness of a consumer. /readyz is true while the
// consumer runs, the last ClickHouse insert or ping succeeded, the last
// Kafka fetch succeeded (or waited idle) and no operation is being retried.
// The fetch loop, the flush goroutine and the lag monitor each report what
// they saw through its methods; it keeps the state and the
// tagpulse_aggregate_ready gauge in step under one lock, so no reader sees
// half a change.
type health struct {
	gauge prometheus.Gauge

	mu       sync.Mutex
	running  bool // Run has set up and not yet returned
	storeOK  bool // the last insert or ping succeeded
	kafkaOK  bool // the last fetch succeeded or timed out idle
	retrying bool // an operation is being retried
}

func newHealth(gauge prometheus.Gauge) *health { return &health{gauge: gauge} }

// ready reports whether /readyz is true.
func (h *health) ready() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.readyLocked()
}

func (h *health) readyLocked() bool {
	return h.running && h.storeOK && h.kafkaOK && !h.retrying
}

// change applies f to the state and publishes the result.
func (h *health) change(f func(h *health)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
	if h.readyLocked() {
		h.gauge.Set(1)
	} else {
		h.gauge.Set(0)
	}
}

// started records that Run has set up: ClickHouse answered its ping and the
// Kafka reader is built.
func (h *health) started() {
	h.change(func(h *health) { h.running, h.storeOK, h.kafkaOK, h.retrying = true, true, true, false })
}

// stopped records that Run is returning.
func (h *health) stopped() { h.change(func(h *health) { h.running = false }) }

// fetched records the outcome of a fetch: ok for a message or an idle
// wait, not ok for an error.
func (h *health) fetched(ok bool) {
	h.mu.Lock()
	same := h.kafkaOK == ok
	h.mu.Unlock()
	if same {
		return // the common case, once per message: nothing to publish
	}
	h.change(func(h *health) { h.kafkaOK = ok })
}

// failing records that op failed and is being retried. A failing fetch
// means Kafka does not answer; a failing insert means ClickHouse does not,
// and that a batch waits.
func (h *health) failing(op string) {
	h.change(func(h *health) {
		switch op {
		case opFetch:
			h.kafkaOK = false
		case opInsert:
			h.storeOK, h.retrying = false, true
		default:
			h.retrying = true
		}
	})
}

// recovered records that op, retried, succeeded.
func (h *health) recovered(op string) {
	h.change(func(h *health) {
		if op == opFetch {
			h.kafkaOK = true
		} else {
			h.retrying = false
		}
	})
}

// stored records a successful insert.
func (h *health) stored() { h.change(func(h *health) { h.storeOK = true }) }

// flushed records that a batch was stored and committed: nothing is being
// retried any more.
func (h *health) flushed() { h.change(func(h *health) { h.retrying = false }) }

// isRetrying reports whether an operation is being retried; the lag
// monitor does not ping ClickHouse then (the retry says more).
func (h *health) isRetrying() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.retrying
}

// probed records the outcome of the monitor's ClickHouse ping. A retry
// that started while the ping ran has the last word: its outcome is newer.
func (h *health) probed(ok bool) {
	h.change(func(h *health) {
		if !h.retrying {
			h.storeOK = ok
		}
	})
}
