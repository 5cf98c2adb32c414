package aggregatecli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"tagpulse/internal/aggregator"
	"tagpulse/internal/chstore"
	"tagpulse/internal/command"
	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/retry"
	"tagpulse/internal/rollup"
)

// replayHidden are the flags of the consuming group that replay and
// rebuild do not act on: they read outside the consumer group, create no
// topic, flush by size only and have no poison guard or lag monitor.
var replayHidden = append([]string{
	"kafka-group", "flush-interval", "queue-capacity", "lag-interval", "poison-window", "poison-max", "poison-policy",
}, kafkaCreateFlags...)

func newReplayCmd() *cobra.Command {
	var (
		set                  consuming
		since, until         string
		createdSince, cUntil string
		allowTruncated       bool
	)
	cmd := &cobra.Command{
		Use:   "replay (--since T [--until T] | --created-since T [--created-until T])",
		Short: "Re-read a range of the topic and add its posts to the counts again (restores, never removes)",
		Long: `replay re-reads a range of the posts topic outside the consumer group (whose
offsets it leaves alone) and writes its rows to ClickHouse again. Two clocks
select the range:

  --since/--until                 the Kafka timestamp: when a message ARRIVED
                                  in the topic (offsets are looked up by it)
  --created-since/--created-until the post's created_at: the whole retained
                                  topic (or the --since/--until range) is
                                  read and only the posts created in range
                                  are kept

A post backfilled today with a created_at of last week arrived today: it is
in --since 1d, not in --since 8d --until 7d; --created-since finds it. Times
are RFC 3339, a date (2026-03-01, midnight UTC), or a duration such as 2h
meaning that long ago; ends are exclusive. The summary says how many
messages were read and how many posts kept.

Counts are sets of post ids: a replay only adds. It restores what is
missing and changes no count that was right, but it cannot remove a tag
counted wrongly; 'aggregate rebuild' drops a range's counts and recomputes
them (docs/operations.md says which to use).

A range that starts before the oldest message the topic still holds (Kafka
deleted older ones at the end of its retention, --kafka-retention) is
refused, exit 1, unless --allow-truncated replays what is left.`,
		Args: cobra.NoArgs,
	}
	flags := set.registerReadFlags(cmd)
	flags.String(&since, "since", "", "", "start of the range of Kafka arrival times: RFC 3339 time, date or duration ago")
	flags.String(&until, "until", "", "", "end of the range of Kafka arrival times (exclusive); default now")
	flags.String(&createdSince, "created-since", "", "", "keep only posts whose created_at is at or after this: RFC 3339 time, date or duration ago")
	flags.String(&cUntil, "created-until", "", "", "keep only posts whose created_at is before this")
	flags.Bool(&allowTruncated, "allow-truncated", "", false, "replay what is left of a range that starts before the oldest message the topic still holds")

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := set.start(cmd, flags)
		if err != nil {
			return err
		}
		opt, err := replayRange(time.Now(), since, until, createdSince, cUntil)
		if err != nil {
			return err
		}
		opt.AllowTruncated = allowTruncated
		ctx := cmd.Context()
		// A wrong address or credential is named here, before ClickHouse
		// is opened, rather than by the first offset lookup.
		if err := set.kafka.Ping(ctx); err != nil {
			return err
		}
		var stats aggregator.ReplayStats
		err = set.readTopic(cmd, log, func(ctx context.Context, c *aggregator.Consumer, _ []driver.Conn, progress func(done, total int64)) error {
			opt.Progress = progress
			var err error
			stats, err = c.Replay(ctx, opt)
			return err
		})
		if errors.Is(err, aggregator.ErrBeforeRetention) {
			return fmt.Errorf("replay: %w; nothing was replayed (--allow-truncated replays what is left)", err)
		}
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		log.Info("replay done", "messages_read", stats.Messages, "posts_kept", stats.Kept, "rows", stats.Rows, "poison_skipped", stats.Poison)
		if stats.Kept == 0 {
			fmt.Fprintln(cmd.ErrOrStderr(), "replay: no post in the range; check the clock you selected by (--since is arrival in Kafka, --created-since the post's created_at)")
		}
		return nil
	}
	return cmd
}

// registerReadFlags registers the flags of replay and rebuild, which read
// the topic outside the consumer group: the consuming group without
// replayHidden.
func (s *consuming) registerReadFlags(cmd *cobra.Command) *command.FlagSet {
	flags := command.Flags(cmd)
	s.registerFlags(flags)
	hideFlags(cmd, replayHidden...)
	return flags
}

// readTopic is the body shared by replay and rebuild: it opens ClickHouse,
// builds a consumer with metrics of its own and calls read with it, the
// shards' own tables on a cluster (nil on one server) and a progress
// callback drawing a bar on stderr, which is ended before readTopic
// returns read's error.
func (s *consuming) readTopic(cmd *cobra.Command, log *slog.Logger, read func(ctx context.Context, c *aggregator.Consumer, shards []driver.Conn, progress func(done, total int64)) error) error {
	ctx := cmd.Context()
	conn, err := chstore.Open(ctx, s.store)
	if err != nil {
		return err
	}
	defer conn.Close()
	owners, shards, closeShards, err := tableOwners(ctx, s.store, conn)
	if err != nil {
		return err
	}
	defer closeShards()
	c := s.newConsumer(conn, aggregator.NewMetrics(prometheus.NewRegistry()), log)
	bar := progressBar{w: cmd.ErrOrStderr()}
	err = read(ctx, c, shards, bar.update)
	bar.done()
	if err != nil {
		return err
	}
	// What was read again is in mentions and its hours are marked; the
	// rollups follow before the command returns.
	for _, o := range owners {
		if err := catchUp(ctx, rollup.NewWorker(o, log, nil), cmd.ErrOrStderr(), log); err != nil {
			return fmt.Errorf("bringing the rollups up to date: %w", err)
		}
	}
	return nil
}

// catchUpRetry is how catchUp tries again: about 30 s in all.
var catchUpRetry = retry.Backoff{Min: time.Second, Max: 15 * time.Second}

// catchUp is w.CatchUp, tried again with backoff after an error that
// passes (aggregator.Retryable: a replica restarting, "Leader was suddenly
// changed" on a replicated table while one is killed): a batch command
// ends once its rollups are done, not at the first failover. A recompute
// is idempotent, so one cut short is simply done again. ErrStillBehind is
// not tried again: CatchUp already ran its rounds.
func catchUp(ctx context.Context, w *rollup.Worker, progress io.Writer, log *slog.Logger) error {
	p := retry.Policy{
		Backoff:  catchUpRetry,
		Attempts: 6,
		Retryable: func(err error) bool {
			return !errors.Is(err, rollup.ErrStillBehind) && aggregator.Retryable(err)
		},
		OnFail: func(f retry.Failure) {
			if !f.Last {
				log.Warn("bringing the rollups up to date failed; trying again", "attempt", f.Attempt, "wait", f.Wait, "err", f.Err)
			}
		},
	}
	return p.Do(ctx, func(ctx context.Context) error { return w.CatchUp(ctx, progress) })
}

// tableOwners returns the connections that own the tables, which the
// rollup workers, retention and rebuild work on: conn on one server; on a
// cluster, one per shard on the shard's own tables (chstore.OpenShards),
// returned as shards too, with the function that closes them.
func tableOwners(ctx context.Context, store chstore.Config, conn driver.Conn) (owners, shards []driver.Conn, closeShards func(), err error) {
	opened, err := chstore.OpenShards(ctx, store)
	if err != nil {
		return nil, nil, nil, err
	}
	if opened == nil {
		return []driver.Conn{conn}, nil, func() {}, nil
	}
	for _, sh := range opened {
		shards = append(shards, sh.Conn)
	}
	return shards, shards, func() {
		for _, sh := range shards {
			sh.Close()
		}
	}, nil
}

// replayRange builds the range of a replay from its flags, relative to now.
func replayRange(now time.Time, since, until, createdSince, createdUntil string) (aggregator.ReplayOptions, error) {
	var opt aggregator.ReplayOptions
	if since == "" && createdSince == "" {
		return opt, errors.New("give --since (Kafka arrival time) or --created-since (the post's created_at)")
	}
	for _, f := range []struct {
		name, value string
		dst         *time.Time
	}{
		{"--since", since, &opt.Since}, {"--until", until, &opt.Until},
		{"--created-since", createdSince, &opt.CreatedSince}, {"--created-until", createdUntil, &opt.CreatedUntil},
	} {
		if f.value == "" {
			continue
		}
		t, err := parseTime(f.value, now)
		if err != nil {
			return opt, fmt.Errorf("%s: %w", f.name, err)
		}
		*f.dst = t
	}
	if since != "" && until == "" {
		opt.Until = now
	}
	if !opt.Until.IsZero() && !opt.Until.After(opt.Since) {
		return opt, fmt.Errorf("--until must be after --since (%s is not after %s)", opt.Until.Format(time.RFC3339), opt.Since.Format(time.RFC3339))
	}
	if !opt.CreatedUntil.IsZero() && !opt.CreatedUntil.After(opt.CreatedSince) {
		return opt, fmt.Errorf("--created-until must be after --created-since (%s is not after %s)", opt.CreatedUntil.Format(time.RFC3339), opt.CreatedSince.Format(time.RFC3339))
	}
	return opt, nil
}

// parseTime reads an RFC 3339 time, a date (its midnight UTC) or a
// duration before now, and checks that Kafka can look it up.
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("required")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t, err = time.Parse(time.DateOnly, s)
	}
	if err != nil {
		d, derr := time.ParseDuration(s)
		if derr != nil || d < 0 {
			return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time, a date (2006-01-02) nor a positive duration", s)
		}
		t = now.Add(-d)
	}
	if err := kafkaclient.CheckTimestamp(t); err != nil {
		return time.Time{}, err
	}
	return t, nil
}

// progressBar draws "replay [=====>    ] 52% 5200/10000" on one line of w.
type progressBar struct {
	w     io.Writer
	drawn bool
}

const barWidth = 30

func (p *progressBar) update(done, total int64) {
	frac := 1.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	filled := int(frac * barWidth)
	bar := make([]byte, barWidth)
	for i := range bar {
		switch {
		case i < filled:
			bar[i] = '='
		case i == filled:
			bar[i] = '>'
		default:
			bar[i] = ' '
		}
	}
	fmt.Fprintf(p.w, "\rreplay [%s] %3.0f%% %d/%d messages", bar, frac*100, done, total)
	p.drawn = true
}

func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
