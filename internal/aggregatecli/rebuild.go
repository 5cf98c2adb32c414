package aggregatecli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/spf13/cobra"

	"tagpulse/internal/aggregator"
	"tagpulse/internal/chstore"
	"tagpulse/internal/hashtag"
)

func newRebuildCmd() *cobra.Command {
	var (
		set            consuming
		from, to       string
		allowTruncated bool
	)
	cmd := &cobra.Command{
		Use:   "rebuild --created-since DAY --created-until DAY",
		Short: "Drop the counts of whole days of posts and recompute them from Kafka with the current extractor",
		Long: `rebuild removes every count of the posts created in [--created-since,
--created-until), which must be whole UTC days (2026-03-01, or a time at
midnight UTC), and recomputes them from Kafka: it reads the whole retained
topic, keeps the posts created in range and finds their hashtags again in
their text with the current extractor (version ` + fmt.Sprint(hashtag.Version) + `).

Use it when counts hold something they should not: a tag an old extractor
found wrongly, posts that should not have been published. Replay only adds
post ids to the counts and cannot remove them (docs/operations.md).

The days are dropped whole: the day partitions of mentions and of every
rollup table (DROP PARTITION), the same on ClickHouse 18.16 and later. The
topic's end offsets are read after the drop, so what a running consumer
stored before is read again; the days' counts are incomplete while the
rebuild runs. The rollups of the days are recomputed before it returns.

Before dropping anything, rebuild checks that the topic still holds every
message that may carry a post of the range: when Kafka's retention
(--kafka-retention) has deleted messages that arrived after the range's
start, it refuses, exit 1, since it could not recompute what it dropped
(--allow-truncated rebuilds anyway and loses those posts' counts).`,
		Args: cobra.NoArgs,
	}
	flags := set.registerReadFlags(cmd)
	flags.String(&from, "created-since", "", "", "first day to rebuild (created_at, UTC): 2026-03-01 or RFC 3339 at midnight UTC (required)")
	flags.String(&to, "created-until", "", "", "day after the last one to rebuild (exclusive) (required)")
	flags.Bool(&allowTruncated, "allow-truncated", "", false, "rebuild even when the topic no longer holds every message of the range (their counts are lost)")

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := set.start(cmd, flags)
		if err != nil {
			return err
		}
		opt := aggregator.RebuildOptions{AllowTruncated: allowTruncated}
		now := time.Now()
		if opt.From, err = parseTime(from, now); err != nil {
			return fmt.Errorf("--created-since: %w", err)
		}
		if opt.To, err = parseTime(to, now); err != nil {
			return fmt.Errorf("--created-until: %w", err)
		}
		if _, err := chstore.DayRange(opt.From, opt.To); err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		var stats aggregator.RebuildStats
		err = set.readTopic(cmd, log, func(ctx context.Context, c *aggregator.Consumer, shards []driver.Conn, progress func(done, total int64)) error {
			opt.Progress, opt.Shards = progress, shards
			var err error
			stats, err = c.Rebuild(ctx, opt)
			return err
		})
		if errors.Is(err, aggregator.ErrBeforeRetention) && len(stats.Days) == 0 {
			return fmt.Errorf("rebuild: %w; nothing was dropped (--allow-truncated rebuilds anyway)", err)
		}
		if err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		log.Info("rebuild done", "days", stats.Days, "messages_read", stats.Messages, "posts_kept", stats.Kept,
			"rows", stats.Rows, "poison_skipped", stats.Poison, "extractor_version", hashtag.Version)
		return nil
	}
	return cmd
}
