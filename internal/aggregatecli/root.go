// Package aggregatecli is the command line of cmd/aggregate: the consumer
// that writes hashtag counts to ClickHouse (run, replay, rebuild, dlq), the schema
// (migrate), the trend queries (top, trending, series), the alert rules
// (alerts), the hidden tags (tags) and the topics (topics). Each subcommand
// lives in its own file; the logic they call lives in the packages named
// there.
package aggregatecli

import (
	"github.com/spf13/cobra"

	"tagpulse/internal/command"
)

// New returns the root command of cmd/aggregate.
func New() *cobra.Command {
	root := &cobra.Command{
		Use:   "aggregate",
		Short: "Consume posts from Kafka, write exact hashtag counts to ClickHouse, serve trends",
		Long: `aggregate consumes the posts topic in a consumer group, writes hashtag
mentions and per-minute counts to ClickHouse exactly once in effect, and
answers trend questions on the command line and over HTTP.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newMigrateCmd())
	root.AddCommand(newRunCmd())
	root.AddCommand(newReplayCmd(), newRebuildCmd())
	root.AddCommand(newDLQCmd())
	root.AddCommand(newTopCmd(), newTrendingCmd(), newSeriesCmd(), newTagCmd())
	root.AddCommand(newAlertsCmd())
	root.AddCommand(newTagsCmd(), newTopicsCmd())
	command.AddCPUProfile(root)
	return root
}
