package aggregatecli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"tagpulse/internal/trend"
)

func newTrendingCmd() *cobra.Command {
	return newListCmd(&cobra.Command{
		Use:   "trending",
		Short: "Print the tags rising far above what their history predicts",
		Long: `trending prints the tags whose count over the last --window is furthest
above what their own history predicts, highest score first. The expected
count comes from the same tag over the previous windows; the score is the
surprise in standard deviations. docs/trends.md explains the formula.`,
		Example: `  aggregate trending --window 1h --limit 10
  aggregate trending --window 24h --source mastodon --json`,
	}, (*trend.Store).Trending, writeTrending)
}

// writeTrending prints a trending list as an aligned table, or as JSON.
func writeTrending(w io.Writer, rows []trend.Trend, asJSON bool) error {
	if asJSON {
		return writeJSON(w, rows)
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "RANK\tTAG\tCOUNT\tEXPECTED\tSCORE")
	for i, r := range rows {
		fmt.Fprintf(tw, "%d\t#%s\t%d\t%.1f\t%.1f\n", i+1, r.Display, r.Count, r.Expected, r.Score)
	}
	return tw.Flush()
}
