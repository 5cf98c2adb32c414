package aggregator

import (
	"fmt"
	"log/slog"

	"github.com/segmentio/kafka-go"
)

// Poison is a message that cannot be decoded as a post: it goes to the
// dead-letter topic with the reason.
type Poison struct {
	Message kafka.Message
	Reason  string
	Err     error
}

// poisonGuard watches the share of poison among the last messages.
type poisonGuard struct {
	window    []bool
	pos, n    int
	poison    int
	minPoison int
	maxRatio  float64
}

// newPoisonGuard trips when, among the last size messages, more than
// minPoison and more than maxRatio of them were poison.
func newPoisonGuard(size, minPoison int, maxRatio float64) *poisonGuard {
	return &poisonGuard{window: make([]bool, size), minPoison: minPoison, maxRatio: maxRatio}
}

// observe records one message and returns ErrPoisonRate when the guard
// trips.
func (g *poisonGuard) observe(poison bool) error {
	if len(g.window) == 0 {
		return nil
	}
	if g.n == len(g.window) {
		if g.window[g.pos] {
			g.poison--
		}
	} else {
		g.n++
	}
	g.window[g.pos] = poison
	if poison {
		g.poison++
	}
	g.pos = (g.pos + 1) % len(g.window)
	if g.poison > g.minPoison && float64(g.poison) > g.maxRatio*float64(g.n) {
		return fmt.Errorf("%d of the last %d messages were poison: %w", g.poison, g.n, ErrPoisonRate)
	}
	return nil
}

// Poison policies: what the consumer does when the poison guard trips
// (--poison-policy).
const (
	// PoisonDeadLetter, the default, keeps consuming: the poison goes on
	// to the dead-letter topic, from which `aggregate dlq replay` can
	// re-feed it, while the tagpulse_aggregate_poison_guard_tripped gauge
	// and an error log raise the alarm.
	PoisonDeadLetter = "deadletter"
	// PoisonHalt stores and commits the batch being read (its valid posts
	// to ClickHouse, its poison to the dead-letter topic) and stops the
	// consumer with ErrPoisonRate, so that nothing more is read until an
	// operator has looked at the producer.
	PoisonHalt = "halt"
)

// poisonWatch applies the poison policy to what the guard sees.
type poisonWatch struct {
	guard   *poisonGuard
	halt    bool
	tripped bool
	metrics *Metrics
	log     *slog.Logger
}

func newPoisonWatch(cfg Config, m *Metrics, log *slog.Logger) *poisonWatch {
	return &poisonWatch{
		guard:   newPoisonGuard(cfg.PoisonWindow, cfg.PoisonMax, 0.5),
		halt:    cfg.PoisonPolicy == PoisonHalt,
		metrics: m, log: log,
	}
}

// observe records one message. It returns the guard's error (wrapping
// ErrPoisonRate) when the guard trips under PoisonHalt; under
// PoisonDeadLetter it raises the alarm when the guard trips and lowers it
// when the share of poison falls back under the limit.
func (w *poisonWatch) observe(poison bool) error {
	err := w.guard.observe(poison)
	switch {
	case err != nil && !w.tripped:
		w.tripped = true
		w.metrics.Errors.WithLabelValues(kindPoisonRate).Inc()
		w.metrics.PoisonGuardTripped.Set(1)
		if w.halt {
			return err
		}
		w.log.Error("poison above the guard's limit: is a producer writing another format? Consuming on, poison to the dead-letter topic (--poison-policy=deadletter)", "err", err)
	case err == nil && w.tripped:
		w.tripped = false
		w.metrics.PoisonGuardTripped.Set(0)
		w.log.Info("poison back under the guard's limit")
	}
	return nil
}
