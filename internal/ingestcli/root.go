// Package ingestcli is the command line of cmd/ingest: the subcommands that
// pull posts from sources, extract their hashtags and publish them to Kafka
// (run, file) and the offline extractor (extract). Each subcommand lives in
// its own file; the logic they call lives in the packages named there.
package ingestcli

import (
	"github.com/spf13/cobra"

	"tagpulse/internal/command"
)

// New returns the root command of cmd/ingest.
func New() *cobra.Command {
	root := &cobra.Command{
		Use:   "ingest",
		Short: "Pull posts from sources, extract their hashtags and publish them to Kafka",
		Long: `ingest pulls posts from files, RSS/Atom feeds, Mastodon-compatible APIs and an
authenticated webhook, extracts and normalises their hashtags, and publishes
each post once to the Kafka topic that aggregate consumes.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(), newFileCmd(), newExtractCmd(), newGenCorpusCmd())
	command.AddCPUProfile(root)
	return root
}
