package aggregator

import (
	"context"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chstore"
)

// RunRetention drops the ClickHouse partitions older than retention now and
// then every interval, until ctx ends. Failures are logged and tried again
// at the next tick: retention is housekeeping, never a reason to stop.
func RunRetention(ctx context.Context, conn driver.Conn, retention, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		cutoff := time.Now().Add(-retention)
		dropped, err := chstore.DropPartitionsBefore(ctx, conn, cutoff)
		for _, p := range dropped {
			log.Info("dropped partition past retention", "table", p.Table, "partition", p.ID)
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("dropping partitions past retention", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
