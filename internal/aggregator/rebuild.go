package aggregator

import (
	"context"
	"fmt"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"time"

	"tagpulse/internal/chstore"
)

// RebuildOptions say which days Rebuild recomputes.
type RebuildOptions struct {
	// From and To bound the posts' created_at, [From, To); both must be
	// midnight UTC (chstore.ErrNotWholeDays otherwise).
	From, To time.Time
	// AllowTruncated rebuilds even when the topic's retention has deleted
	// messages that may have held posts of the range: their counts are
	// then lost, not recomputed.
	AllowTruncated bool
	// Progress is passed to the replay.
	Progress func(done, total int64)
	// Shards are, on a cluster, the connections to each shard's own
	// tables (chstore.OpenShards), where the days' partitions are: the
	// consumer's store reads and writes Distributed tables, which have
	// none. Nil on one server.
	Shards []driver.Conn
}

// RebuildStats sums up a rebuild: the days whose counts were dropped and
// the replay that recomputed them.
type RebuildStats struct {
	Days []string
	ReplayStats
}

// Rebuild drops every count of the posts created in [From, To) and
// recomputes them from the whole retained topic with the current
// extractor, keeping the posts whose created_at is in the range. Unlike a
// replay, which only adds post ids to the counts, it removes what should
// not be counted (a tag an old extractor found wrongly, say).
//
// It first checks that the topic still holds every message that can hold a
// post of the range (ErrBeforeRetention otherwise, before anything is
// dropped). The end offsets are read after the drop, so whatever a running
// consumer stored before the drop is read again; the range's counts are
// incomplete only while the rebuild runs.
func (c *Consumer) Rebuild(ctx context.Context, opt RebuildOptions) (RebuildStats, error) {
	var stats RebuildStats
	if _, err := chstore.DayRange(opt.From, opt.To); err != nil {
		return stats, err
	}
	ropt := ReplayOptions{CreatedSince: opt.From, CreatedUntil: opt.To, Reextract: true, AllowTruncated: opt.AllowTruncated, Progress: opt.Progress}
	if err := c.checkRetention(ctx, &stats.ReplayStats, ropt); err != nil {
		return stats, err
	}
	targets := opt.Shards
	if targets == nil {
		targets = []driver.Conn{c.store}
	}
	var (
		days []string
		err  error
	)
	for _, conn := range targets {
		days, err = chstore.DropDays(ctx, conn, opt.From, opt.To)
		if err != nil {
			break
		}
	}
	stats.Days = days
	if err != nil {
		return stats, fmt.Errorf("dropping the counts of %s to %s: %w", opt.From.Format(time.DateOnly), opt.To.Format(time.DateOnly), err)
	}
	c.log.Info("dropped the counts of the range", "days", days)
	rs, err := c.Replay(ctx, ropt)
	stats.ReplayStats = rs
	if err != nil {
		return stats, fmt.Errorf("recomputing from Kafka (the range's counts stay incomplete until a rebuild succeeds): %w", err)
	}
	return stats, nil
}
