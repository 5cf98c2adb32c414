package aggregatecli

import (
	"fmt"
	"io"
	"strings"

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
surprise in standard deviations. It scores distinct accounts by default, so
one author posting a tag fifty times does not make it trend; --by posts
scores distinct posts. docs/trends.md explains the formula.

A tag whose posts in the window come mostly (over 50%) from one account or
one instance is concentrated, and left out; --include-concentrated lists
it, noted. Posts of accounts their source marks as bots count nowhere.

The history is the 24 windows before the current one. While the stored
posts do not reach that far back (a fresh import), the missing windows
count as zero, every tag looks new and trending repeats top: trending
then says "not enough history yet" on stderr, and --json carries
history_windows and enough_history on every tag. A list with no tag says
why on stderr.`,
		Example: `  aggregate trending --window 1h --limit 10
  aggregate trending --window 24h --source mastodon --json
  aggregate trending --window 1h --by posts
  aggregate trending --window 1h --by posts --include-concentrated
  aggregate trending --window 24h --topics`,
	}, (*trend.Store).Trending, writeTrending, noteHistory, noneTrending, true)
}

// writeTrending prints a trending list as an aligned table, or as JSON.
func writeTrending(w io.Writer, rows []trend.Trend, asJSON bool) error {
	if asJSON {
		return writeJSON(w, rows)
	}
	tw := newTable(w)
	by := trend.ByAccounts
	if len(rows) > 0 && rows[0].By != "" {
		by = rows[0].By
	}
	// A NOTE column only when a row has something to say: a concentrated
	// tag (listed with --include-concentrated) or bots' posts apart.
	noted := false
	for _, r := range rows {
		noted = noted || trendNote(r) != ""
	}
	// EXPECTED and SCORE are of what the list ranks on.
	topics := len(rows) > 0 && rows[0].Topic != ""
	fmt.Fprintf(tw, "RANK\t%s\tCOUNT\tACCOUNTS\tEXPECTED %s\tSCORE%s", nameHeader(topics), strings.ToUpper(string(by)), membersHeader(topics))
	if noted {
		fmt.Fprint(tw, "\tNOTE")
	}
	fmt.Fprintln(tw)
	for i, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%.1f\t%.1f%s", i+1, rowName(r.Topic, r.Display), r.Count, r.Accounts, r.Expected, r.Score, membersCell(r.Members))
		if noted {
			fmt.Fprintf(tw, "\t%s", trendNote(r))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// trendNote says what a trend's counts do not: that one account or
// instance wrote most of its posts, and how many bots' posts it had apart.
func trendNote(r trend.Trend) string {
	var notes []string
	if r.Concentrated {
		notes = append(notes, fmt.Sprintf("concentrated: top account %.0f%%, top instance %.0f%% of posts", r.TopAccountShare*100, r.TopInstanceShare*100))
	}
	if r.BotPosts > 0 {
		notes = append(notes, fmt.Sprintf("%d bot posts apart", r.BotPosts))
	}
	return strings.Join(notes, "; ")
}

// noteHistory says on w when the scores of rows rest on fewer earlier
// windows than the score needs.
func noteHistory(w io.Writer, q trend.Query, rows []trend.Trend) {
	if len(rows) == 0 || rows[0].EnoughHistory {
		return
	}
	writeShortHistory(w, q, rows[0].HistoryWindows)
}

func writeShortHistory(w io.Writer, q trend.Query, have int) {
	fmt.Fprintf(w, "not enough history yet: the stored posts cover %d of the %d windows of %s before %s UTC that the score compares with, so tags look new and this list repeats top; see docs/trends.md\n",
		have, trend.DefaultParams().BaselineWindows, trend.FormatDuration(q.Window), formatMinute(trend.BaselineEnd(q.At, q.Window)))
}

// noneTrending says why no tag trends in a window that has posts: none
// reached the thresholds, and, when so, the history is short.
func noneTrending(q trend.Query) func(io.Writer, uint64, trend.Extent) {
	return func(w io.Writer, posts uint64, ext trend.Extent) {
		p := trend.DefaultParams()
		from, to := trend.Span(q.At, q.Window)
		fmt.Fprintf(w, "no tag is trending from %s to %s UTC: of %d posts with hashtags, no tag has %d or more with a score above %g\n",
			formatMinute(from), formatMinute(to), posts, p.MinCount, p.MinScore)
		if have := p.HistoryWindows(ext, q.At, q.Window); have < p.BaselineWindows {
			writeShortHistory(w, q, have)
		}
	}
}
