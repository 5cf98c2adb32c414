package aggregatecli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"tagpulse/internal/trend"
)

func newSeriesCmd() *cobra.Command {
	var (
		q      trendQuery
		tags   []string
		topics []string
		step   string
	)
	cmd := &cobra.Command{
		Use:   "series",
		Short: "Print the counts of tags per step over the last window",
		Long: `series prints, for one or more tags (canonical keys, with or without #),
the distinct posts per --step over the last --window, oldest first; steps
without posts print 0. The window must be a whole number of steps.

Steps are aligned to the step, counted in UTC from the Unix epoch: whole
hours for 1h, midnights UTC for 1d, quarter hours for 15m. The last step
is the one holding the current minute (or --at), so it may not be over
yet. The table's first column is each step's start; --json gives each
point's start ("time") and end ("end", excluded).

--topic NAME charts topics instead (aggregate topics): each step counts
the distinct posts carrying any of the topic's tags.`,
		Example: `  aggregate series --tag nif2025 --tag otan --window 24h --step 1h
  aggregate series --tag nato --window 7d --step 6h --json
  aggregate series --topic nato --window 7d --step 1d`,
		Args: cobra.NoArgs,
	}
	flags := q.register(cmd, "24h")
	cmd.Flags().Lookup("window").Usage = "how far back to chart, ending with the step that holds now (or --at): 24h, 7d, … (1m to 90d, a whole number of steps)"
	cmd.Flags().StringArrayVar(&tags, "tag", nil, fmt.Sprintf("a tag to chart; repeat for more (up to %d)", trend.MaxTags))
	cmd.Flags().StringArrayVar(&topics, "topic", nil, "a topic to chart instead of tags; repeat for more")
	cmd.MarkFlagsMutuallyExclusive("tag", "topic")
	cmd.Flags().StringVar(&step, "step", "1h", "the length of one point: 1m, 15m, 1h, 1d, …")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if len(tags) == 0 && len(topics) == 0 {
			return fmt.Errorf("series: give at least one --tag (or --topic)")
		}
		st, err := trend.ParseDuration(step)
		if err != nil {
			return fmt.Errorf("--step: %w", err)
		}
		var query trend.SeriesQuery
		return answer(cmd, &q, flags, func(at time.Time, window time.Duration) error {
			query = trend.SeriesQuery{At: at, Window: window, Step: st, Tags: tags, Filter: q.filter}
			if len(topics) > 0 {
				query.Tags, query.Topics = topics, true
			}
			return query.Validate()
		}, func(ctx context.Context, store *trend.Store) ([]trend.Series, error) {
			return store.Series(ctx, query)
		}, func(w io.Writer, series []trend.Series, asJSON bool) error {
			if !asJSON {
				from, to := trend.SeriesSpan(query.At, query.Window, query.Step)
				writeSpan(w, fmt.Sprintf("Steps of %s", trend.FormatDuration(query.Step)), from, to)
			}
			return writeSeries(w, series, asJSON)
		}, func(ctx context.Context, store *trend.Store, series []trend.Series) error {
			for _, s := range series {
				for _, p := range s.Points {
					if p.Count > 0 {
						return nil
					}
				}
			}
			from, to := trend.SeriesSpan(query.At, query.Window, query.Step)
			return explainEmpty(ctx, store, query.Filter, from, to, cmd.ErrOrStderr(), func(w io.Writer, posts uint64, _ trend.Extent) {
				fmt.Fprintf(w, "none of these %ss is in the %d posts with hashtags from %s to %s UTC; `aggregate top` lists the tags used\n",
					map[bool]string{false: "tag", true: "topic"}[query.Topics], posts, formatMinute(from), formatMinute(to))
			})
		})
	}
	return cmd
}

// writeSeries prints series as a table with one row per step and one
// column per tag, or as JSON.
func writeSeries(w io.Writer, series []trend.Series, asJSON bool) error {
	if asJSON {
		return writeJSON(w, series)
	}
	tw := newTable(w)
	fmt.Fprint(tw, "STEP START (UTC)")
	for _, s := range series {
		fmt.Fprintf(tw, "\t%s", rowName(s.Topic, s.Display))
	}
	fmt.Fprintln(tw)
	if len(series) > 0 {
		for i, p := range series[0].Points {
			fmt.Fprint(tw, formatMinute(p.Time))
			for _, s := range series {
				fmt.Fprintf(tw, "\t%d", s.Points[i].Count)
			}
			fmt.Fprintln(tw)
		}
	}
	return tw.Flush()
}
