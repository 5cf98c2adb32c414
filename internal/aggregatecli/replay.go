package aggregatecli

import (
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"tagpulse/internal/aggregator"
	"tagpulse/internal/chstore"
	"tagpulse/internal/cliflags"
	"tagpulse/internal/kafkaclient"
)

func newReplayCmd() *cobra.Command {
	var (
		set          consuming
		since, until string
	)
	cmd := &cobra.Command{
		Use:   "replay --since T --until T",
		Short: "Re-read a time range of the topic and rewrite its counts, idempotently",
		Long: `replay looks up, on every partition, the offsets of the Kafka timestamps
--since and --until (RFC 3339, a date meaning its midnight UTC, or a
duration such as 2h meaning that long ago; Kafka can select times from
1970 to April 2262), re-reads that range outside the consumer group (whose offsets it
leaves alone) and writes its rows to ClickHouse again. Counts are idempotent
by post id: a replay changes no count that was right and repairs any that
was not. Progress goes to stderr.`,
		Args: cobra.NoArgs,
	}
	flags := cliflags.Flags(cmd)
	set.registerFlags(flags)
	flags.String(&since, "since", "", "", "start of the range: RFC 3339 time, date or a duration ago (required)")
	flags.String(&until, "until", "", "", "end of the range (exclusive): RFC 3339 time, date or a duration ago; default now")

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := set.start(cmd, flags)
		if err != nil {
			return err
		}
		now := time.Now()
		from, err := parseTime(since, now)
		if err != nil {
			return fmt.Errorf("--since: %w", err)
		}
		to := now
		if until != "" {
			if to, err = parseTime(until, now); err != nil {
				return fmt.Errorf("--until: %w", err)
			}
		}
		if !to.After(from) {
			return fmt.Errorf("--until must be after --since (%s is not after %s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
		}
		ctx := cmd.Context()
		// A wrong address or credential is named here, before ClickHouse
		// is opened, rather than by the first offset lookup.
		if err := set.kafka.Ping(ctx); err != nil {
			return err
		}
		conn, err := chstore.Open(ctx, set.store)
		if err != nil {
			return err
		}
		defer conn.Close()
		c := set.newConsumer(conn, aggregator.NewMetrics(prometheus.NewRegistry()), log)
		bar := progressBar{w: cmd.ErrOrStderr()}
		stats, err := c.Replay(ctx, aggregator.ReplayOptions{Since: from, Until: to, Progress: bar.update})
		bar.done()
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		log.Info("replay done", "messages", stats.Messages, "rows", stats.Rows, "poison_skipped", stats.Poison,
			"since", from.Format(time.RFC3339), "until", to.Format(time.RFC3339))
		return nil
	}
	return cmd
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
