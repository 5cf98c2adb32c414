package aggregator

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/segmentio/kafka-go"

	"tagpulse/internal/kafkaclient"
)

// lagMonitor refreshes the lag gauges every interval and, while nothing
// is being retried, checks that ClickHouse still answers, so /readyz turns
// false when it goes away even while no message arrives.
type lagMonitor struct {
	client   *kafka.Client
	topic    string
	group    string
	parts    []int
	store    driver.Conn
	interval time.Duration
	metrics  *Metrics
	health   *health
	log      *slog.Logger
	now      func() time.Time
}

// run refreshes until ctx ends.
func (l lagMonitor) run(ctx context.Context) {
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		l.refresh(ctx)
		if !l.health.isRetrying() {
			pctx, cancel := context.WithTimeout(ctx, l.interval)
			l.health.probed(l.store.Ping(pctx) == nil || ctx.Err() != nil)
			cancel()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refresh sets the lag gauges of every partition.
func (l lagMonitor) refresh(ctx context.Context) {
	offsets, err := kafkaclient.GroupOffsets(ctx, l.client, l.topic, l.group, l.parts)
	if err != nil {
		if ctx.Err() == nil {
			l.metrics.Errors.WithLabelValues(kindLag).Inc()
			l.log.Debug("reading consumer lag", "err", err)
		}
		return
	}
	now := l.now()
	for p, o := range offsets {
		label := strconv.Itoa(p)
		lag := o.Lag()
		l.metrics.LagMessages.WithLabelValues(label).Set(float64(lag))
		age := 0.0
		if lag > 0 {
			ts, err := kafkaclient.MessageTime(ctx, l.client, l.topic, p, o.Position())
			if err != nil {
				l.log.Debug("reading the oldest uncommitted message", "partition", p, "err", err)
				continue
			}
			age = max(now.Sub(ts).Seconds(), 0)
		}
		l.metrics.LagSeconds.WithLabelValues(label).Set(age)
	}
}
