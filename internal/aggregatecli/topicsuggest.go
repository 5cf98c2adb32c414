package aggregatecli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"tagpulse/internal/chstore"
	"tagpulse/internal/command"
	"tagpulse/internal/topic"
	"tagpulse/internal/topicsuggest"
	"tagpulse/internal/trend"
)

// newTopicsSuggestCmd is `aggregate topics suggest`: the pairs of tags
// topicsuggest proposes as topics, with their evidence and the command
// that accepts each.
func newTopicsSuggestCmd() *cobra.Command {
	var (
		store   chstore.Config
		logs    command.Logging
		window  string
		at      string
		asJSON  bool
		suggest topicsuggest.Query
	)
	cmd := &cobra.Command{
		Use:   "suggest",
		Short: "Propose pairs of tags to merge into topics, from the posts and accounts they share",
		Long: `suggest lists pairs of tags that share far more of their posts, or of their
authors, than two tags of their sizes would by chance: translations
(#NATO and #OTAN), spellings, a campaign's variants. For each pair it gives
the evidence (posts and accounts of each tag, and shared; lift and Z of
each side; the score) and the command that accepts it as a topic named
after the larger tag. The measure, its thresholds and its limits are in
docs/trends.md, "Topic suggestions". Bots and deleted posts do not count.`,
		Example: `  aggregate topics suggest
  aggregate topics suggest --window 7d --min-shared 20 --limit 50 --json`,
		Args: cobra.NoArgs,
	}
	flags := command.Flags(cmd)
	store.RegisterFlags(flags)
	logs.RegisterFlags(flags)
	fs := cmd.Flags()
	fs.StringVar(&window, "window", trend.FormatDuration(topicsuggest.DefaultWindow),
		fmt.Sprintf("how far back to look, ending now: 1h to %s", trend.FormatDuration(topicsuggest.MaxWindow)))
	fs.StringVar(&at, "at", "", "end the window at this time (RFC 3339) instead of now")
	fs.IntVar(&suggest.MinShared, "min-shared", topicsuggest.DefaultMinShared, "the least posts, or accounts, a pair must share (among those read, when a large window is sampled)")
	fs.Float64Var(&suggest.MinLift, "min-lift", topicsuggest.DefaultMinLift, "the least lift a pair must have (1 is chance)")
	fs.IntVar(&suggest.Limit, "limit", topicsuggest.DefaultLimit, fmt.Sprintf("how many pairs to print, best first (1 to %d)", topicsuggest.MaxLimit))
	fs.Uint64Var(&suggest.SampleRows, "sample-rows", topicsuggest.SampleRows,
		"above this many rows of mentions in the window, read a sample of the posts and accounts (more: finds smaller pairs, costs more)")
	fs.BoolVar(&asJSON, "json", false, "print JSON for scripts instead of a table")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		w, err := trend.ParseDuration(window)
		if err != nil {
			return fmt.Errorf("--window: %w", err)
		}
		suggest.Window, suggest.At = w, time.Now()
		if at != "" {
			if suggest.At, err = trend.ParseAt("--at", at); err != nil {
				return err
			}
		}
		// A zero in Query means "the default"; on the command line it is a
		// value, out of bounds.
		if suggest.Limit == 0 || suggest.MinShared == 0 || suggest.MinLift == 0 || suggest.SampleRows == 0 {
			return fmt.Errorf("--limit, --min-shared, --min-lift and --sample-rows must not be 0")
		}
		if _, err := logs.Start(cmd, flags, &store, suggest); err != nil {
			return err
		}
		conn, err := chstore.Open(cmd.Context(), store)
		if err != nil {
			return trend.MissingSchema(err)
		}
		defer conn.Close()
		// Pairs already in one topic are not proposed again.
		members, err := topic.ReadMembers(cmd.Context(), conn)
		if err != nil {
			return fmt.Errorf("topics suggest: %w", err)
		}
		suggest.Exclude = members.Together
		pairs, err := topicsuggest.Suggest(cmd.Context(), conn, suggest)
		if err != nil {
			return fmt.Errorf("topics suggest: %w", err)
		}
		if asJSON {
			return writeJSON(cmd.OutOrStdout(), suggestions(pairs))
		}
		if len(pairs) == 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "no pair of tags shares at least %d posts or accounts at a lift of %g or more in this window: try a longer --window or a lower --min-shared\n",
				suggest.MinShared, suggest.MinLift)
			return nil
		}
		from, to := suggest.Span()
		writeSpan(cmd.OutOrStdout(), "Pairs of tags in the posts", from, to)
		if f := pairs[0].Sample; f < 1 {
			fmt.Fprintf(cmd.OutOrStdout(), "from a sample of %.1f%% of the posts and of the accounts (the window holds more than --sample-rows %d rows): counts are estimates\n",
				100*f, suggest.SampleRows)
		}
		return writeSuggestions(cmd.OutOrStdout(), pairs)
	}
	return cmd
}

// suggestion is a pair as --json prints it: its evidence and the command
// that accepts it.
type suggestion struct {
	topicsuggest.Pair
	Accept string `json:"accept"`
}

func suggestions(pairs []topicsuggest.Pair) []suggestion {
	out := make([]suggestion, 0, len(pairs))
	for _, p := range pairs {
		out = append(out, suggestion{p, acceptCommand(p)})
	}
	return out
}

// acceptCommand is the command that makes p a topic named after its
// larger tag.
func acceptCommand(p topicsuggest.Pair) string {
	return fmt.Sprintf("aggregate topics add %s %s %s", p.A, p.A, p.B)
}

// writeSuggestions prints pairs as an aligned table: each side's counts
// as "tag a / tag b / both", its lift and Z, the score, and the command.
func writeSuggestions(w io.Writer, pairs []topicsuggest.Pair) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "RANK\tPAIR\tPOSTS A/B/BOTH\tLIFT\tZ\tACCOUNTS A/B/BOTH\tLIFT\tZ\tSCORE\tACCEPT WITH")
	for i, p := range pairs {
		fmt.Fprintf(tw, "%d\t#%s #%s\t%d/%d/%d\t%.1f\t%.1f\t%d/%d/%d\t%.1f\t%.1f\t%.2f\t%s\n", i+1, p.A, p.B,
			p.PostsA, p.PostsB, p.SharedPosts, p.PostLift, p.PostZ,
			p.AccountsA, p.AccountsB, p.SharedAccounts, p.AccountLift, p.AccountZ, p.Score, acceptCommand(p))
	}
	return tw.Flush()
}
