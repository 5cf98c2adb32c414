package aggregatecli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"tagpulse/internal/chstore"
	"tagpulse/internal/command"
	"tagpulse/internal/trend"
)

func newTagsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tags",
		Short: "Hide tags from top and trending, or let them back",
		Long: `tags keeps the list of hidden tags: tags an operator keeps out of top and
trending (spam, slurs, a brand's own generic tags). The list lives in
ClickHouse, so every replica and the HTTP API see it at once. A hidden tag
still counts: its series is unchanged and says "hidden": true.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(
		newTagsSetCmd("hide", "Keep a tag out of top and trending", true),
		newTagsSetCmd("unhide", "Let a hidden tag back into top and trending", false),
		newTagsListCmd())
	return cmd
}

// tagsStore opens the trend store for the tags subcommands; the caller
// closes it with the returned function.
func tagsStore(cmd *cobra.Command, flags *command.FlagSet, store *chstore.Config, logs *command.Logging) (*trend.Store, func(), error) {
	if _, err := logs.Start(cmd, flags, store); err != nil {
		return nil, nil, err
	}
	conn, err := chstore.Open(cmd.Context(), *store)
	if err != nil {
		return nil, nil, trend.MissingSchema(err)
	}
	return trend.NewStore(conn, trend.DefaultParams()).OnCluster(*store), func() { conn.Close() }, nil
}

func newTagsSetCmd(use, short string, hide bool) *cobra.Command {
	var (
		store  chstore.Config
		logs   command.Logging
		reason string
		by     string
	)
	cmd := &cobra.Command{
		Use:   use + " TAG...",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
	}
	if hide {
		cmd.Example = `  aggregate tags hide spamtag --reason "bot wave"`
	} else {
		cmd.Example = `  aggregate tags unhide spamtag`
	}
	flags := command.Flags(cmd)
	store.RegisterFlags(flags)
	logs.RegisterFlags(flags)
	if hide {
		cmd.Flags().StringVar(&reason, "reason", "", "why the tag is hidden (kept with it, shown by list)")
	}
	cmd.Flags().StringVar(&by, "by", os.Getenv("USER"), "who hides it (default: $USER)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		s, closeStore, err := tagsStore(cmd, flags, &store, &logs)
		if err != nil {
			return err
		}
		defer closeStore()
		now := time.Now()
		for _, a := range args {
			var tag string
			if hide {
				tag, err = s.Hide(cmd.Context(), a, reason, by, now)
			} else {
				tag, err = s.Unhide(cmd.Context(), a, by, now)
			}
			if err != nil {
				return fmt.Errorf("tags %s %s: %w", use, a, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: #%s\n", map[bool]string{true: "hidden", false: "unhidden"}[hide], tag)
		}
		return nil
	}
	return cmd
}

func newTagsListCmd() *cobra.Command {
	var (
		store  chstore.Config
		logs   command.Logging
		asJSON bool
		asCSV  bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Print the hidden tags",
		Args:  cobra.NoArgs,
	}
	flags := command.Flags(cmd)
	store.RegisterFlags(flags)
	logs.RegisterFlags(flags)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts instead of a table")
	cmd.Flags().BoolVar(&asCSV, "csv", false, "print CSV with a header row instead of a table (docs/trends.md, Export)")
	cmd.MarkFlagsMutuallyExclusive("json", "csv")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		s, closeStore, err := tagsStore(cmd, flags, &store, &logs)
		if err != nil {
			return err
		}
		defer closeStore()
		list, err := s.Hidden(cmd.Context())
		if err != nil {
			return fmt.Errorf("tags list: %w", err)
		}
		return writeHidden(cmd.OutOrStdout(), list, asJSON, asCSV)
	}
	return cmd
}

// writeHidden prints the hidden tags as an aligned table, as JSON or as
// CSV.
func writeHidden(w io.Writer, list []trend.HiddenTag, asJSON, asCSV bool) error {
	switch {
	case asJSON:
		return writeJSON(w, list)
	case asCSV:
		return trend.WriteCSV(w, list)
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "TAG\tSINCE (UTC)\tBY\tREASON")
	for _, h := range list {
		fmt.Fprintf(tw, "#%s\t%s\t%s\t%s\n", h.Tag, formatMinute(h.At), h.By, h.Reason)
	}
	return tw.Flush()
}
