package aggregatecli

import (
	"fmt"

	"github.com/spf13/cobra"

	"tagpulse/internal/aggregator"
	"tagpulse/internal/cliflags"
	"tagpulse/internal/kafkaclient"
)

func newDLQCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Work with the dead-letter topic <topic>.dlq",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newDLQReplayCmd())
	return cmd
}

func newDLQReplayCmd() *cobra.Command {
	var (
		kcfg  kafkaclient.Config
		logs  cliflags.Logging
		group string
		opt   aggregator.DLQReplayOptions
	)
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Re-feed dead-letter messages to the posts topic once their cause is fixed",
		Long: `dlq replay reads <topic>.dlq up to its end at start and writes each message
back to the posts topic with its original key and value. Messages that
still do not decode are passed over unless --force. Progress is recorded
as the consumer group --dlq-group, so a second run re-feeds only what
arrived since (--from-beginning reads everything again). Re-feeding a post
twice changes no count.`,
		Args: cobra.NoArgs,
	}
	flags := cliflags.Flags(cmd)
	kcfg.RegisterFlags(flags)
	logs.RegisterFlags(flags)
	flags.String(&group, "dlq-group", "AGGREGATE_DLQ_GROUP", aggregator.DefaultGroup+"-dlq-replay", "consumer group that records how far the dead-letter topic was re-fed")
	flags.Bool(&opt.FromBeginning, "from-beginning", "", false, "read the whole dead-letter topic, ignoring recorded progress")
	flags.Bool(&opt.Force, "force", "", false, "re-feed messages that still do not decode")
	flags.Bool(&opt.DryRun, "dry-run", "", false, "count what would be re-fed, write nothing")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := logs.Start(cmd, flags, &kcfg)
		if err != nil {
			return err
		}
		opt.Group = group
		stats, err := aggregator.ReplayDLQ(cmd.Context(), &kcfg, opt, log)
		if err != nil {
			return fmt.Errorf("dlq replay: %w", err)
		}
		log.Info("dlq replay done", "read", stats.Read, "refed", stats.Refed, "still_poison", stats.StillPoison, "dry_run", opt.DryRun)
		return nil
	}
	return cmd
}
