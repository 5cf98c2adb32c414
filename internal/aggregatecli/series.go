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
		q    trendQuery
		tags []string
		step string
	)
	cmd := &cobra.Command{
		Use:   "series",
		Short: "Print the counts of tags per step over the last window",
		Long: `series prints, for one or more tags (canonical keys, with or without #),
the distinct posts per --step over the last --window, oldest first; steps
without posts print 0. The window must be a whole number of steps.`,
		Example: `  aggregate series --tag nif2025 --tag otan --window 24h --step 1h
  aggregate series --tag nato --window 7d --step 6h --json`,
		Args: cobra.NoArgs,
	}
	flags := q.register(cmd, "24h")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, fmt.Sprintf("a tag to chart; repeat for more (up to %d)", trend.MaxTags))
	cmd.Flags().StringVar(&step, "step", "1h", "the length of one point: 1m, 15m, 1h, 1d, …")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if len(tags) == 0 {
			return fmt.Errorf("series: give at least one --tag")
		}
		st, err := trend.ParseDuration(step)
		if err != nil {
			return fmt.Errorf("--step: %w", err)
		}
		var query trend.SeriesQuery
		return answer(cmd, &q, flags, func(at time.Time, window time.Duration) error {
			query = trend.SeriesQuery{At: at, Window: window, Step: st, Tags: tags, Filter: q.filter}
			return query.Validate()
		}, func(ctx context.Context, store *trend.Store) ([]trend.Series, error) {
			return store.Series(ctx, query)
		}, writeSeries)
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
	fmt.Fprint(tw, "TIME (UTC)")
	for _, s := range series {
		fmt.Fprintf(tw, "\t#%s", s.Display)
	}
	fmt.Fprintln(tw)
	if len(series) > 0 {
		for i, p := range series[0].Points {
			fmt.Fprint(tw, p.Time.UTC().Format("2006-01-02 15:04"))
			for _, s := range series {
				fmt.Fprintf(tw, "\t%d", s.Points[i].Count)
			}
			fmt.Fprintln(tw)
		}
	}
	return tw.Flush()
}
