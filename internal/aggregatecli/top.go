package aggregatecli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"tagpulse/internal/chstore"
	"tagpulse/internal/command"
	"tagpulse/internal/trend"
)

// trendQuery holds what top, trending and series share: where ClickHouse
// is, logging, the window, the filters and the output format.
type trendQuery struct {
	store  chstore.Config
	logs   command.Logging
	window string
	at     string
	json   bool
	csv    bool
	filter trend.Filter
}

func (q *trendQuery) register(cmd *cobra.Command, defaultWindow string) *command.FlagSet {
	flags := command.Flags(cmd)
	q.store.RegisterFlags(flags)
	q.logs.RegisterFlags(flags)
	fs := cmd.Flags()
	fs.StringVar(&q.window, "window", defaultWindow, "how far back to count, ending now: 15m, 1h, 7d, … (1m to 90d)")
	fs.StringVar(&q.at, "at", "", "answer as of this time (RFC 3339) instead of now")
	fs.BoolVar(&q.json, "json", false, "print JSON for scripts instead of a table")
	fs.BoolVar(&q.csv, "csv", false, "print CSV with a header row instead of a table (docs/trends.md, Export)")
	cmd.MarkFlagsMutuallyExclusive("json", "csv")
	fs.StringVar(&q.filter.Source, "source", "", "count only posts from this source")
	fs.StringVar(&q.filter.Lang, "lang", "", "count only posts in this language")
	return flags
}

// now is the time the query is answered at: --at, or the current time.
func (q *trendQuery) now() (time.Time, error) {
	if q.at == "" {
		return time.Now(), nil
	}
	return trend.ParseAt("--at", q.at)
}

// open checks the flags, then lets build make and check the query from
// the time and window asked for, then connects; the caller closes the
// store's connection with the returned function.
func (q *trendQuery) open(cmd *cobra.Command, flags *command.FlagSet, build func(at time.Time, window time.Duration) error) (*trend.Store, func(), error) {
	if err := flags.Err(); err != nil {
		return nil, nil, err
	}
	at, err := q.now()
	if err != nil {
		return nil, nil, err
	}
	if _, err := q.logs.Logger(cmd); err != nil {
		return nil, nil, err
	}
	window, err := trend.ParseDuration(q.window)
	if err != nil {
		return nil, nil, fmt.Errorf("--window: %w", err)
	}
	if err := build(at, window); err != nil {
		return nil, nil, err
	}
	if err := q.store.Validate(); err != nil {
		return nil, nil, err
	}
	conn, err := chstore.Open(cmd.Context(), q.store)
	if err != nil {
		return nil, nil, trend.MissingSchema(err)
	}
	return trend.NewStore(conn, trend.DefaultParams()).OnCluster(q.store), func() { conn.Close() }, nil
}

// answer opens the store as open does, asks it (a failed question is
// named after the command), lets explain say what the answer cannot (why
// it is empty, on stderr or as an error) and prints it with write, or as
// CSV with --csv.
func answer[T any](cmd *cobra.Command, q *trendQuery, flags *command.FlagSet, build func(at time.Time, window time.Duration) error,
	ask func(context.Context, *trend.Store) (T, error), write func(io.Writer, T, bool) error,
	explain func(context.Context, *trend.Store, T) error) error {
	store, closeStore, err := q.open(cmd, flags, build)
	if err != nil {
		return err
	}
	defer closeStore()
	got, err := ask(cmd.Context(), store)
	if err != nil {
		return fmt.Errorf("%s: %w", cmd.Name(), err)
	}
	// Explained first: a filter no post matches is an error, and then no
	// table is printed.
	if err := explain(cmd.Context(), store, got); err != nil {
		return fmt.Errorf("%s: %w", cmd.Name(), err)
	}
	if q.csv {
		return trend.WriteCSV(cmd.OutOrStdout(), got)
	}
	return write(cmd.OutOrStdout(), got, q.json)
}

// explainEmpty says why a question over from..to under f has no answer: a
// filter value no post has is an error naming the known ones; otherwise a
// note on w says that there are no posts yet, or none in the window (and
// when the stored ones are), or, when the window has posts, what busy
// says about them (nil for a question that is only empty without posts).
func explainEmpty(ctx context.Context, store *trend.Store, f trend.Filter, from, to time.Time, w io.Writer,
	busy func(w io.Writer, posts uint64, ext trend.Extent)) error {
	if err := store.CheckFilter(ctx, f); err != nil {
		return err
	}
	ext, err := store.Extent(ctx, f)
	if err != nil {
		return err
	}
	filtered := ""
	if f.Source != "" || f.Lang != "" {
		filtered = " matching the filters"
	}
	if ext.Empty {
		fmt.Fprintf(w, "no posts%s are stored yet: load some with `ingest file PATH`, then `aggregate run --until-caught-up`\n", filtered)
		return nil
	}
	if busy != nil {
		n, err := store.Posts(ctx, f, from, to)
		if err != nil {
			return err
		}
		if n > 0 {
			busy(w, n, ext)
			return nil
		}
	}
	fmt.Fprintf(w, "no posts%s from %s to %s UTC; the stored posts run from %s to %s UTC (minutes, by created_at): try --at or a longer --window\n",
		filtered, formatMinute(from), formatMinute(to), formatMinute(ext.First), formatMinute(ext.Last.Add(time.Minute)))
	return nil
}

// formatMinute prints a UTC time to the minute, as the tables do.
func formatMinute(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }

// writeSpan prints the line above a table that says which minutes it
// counts.
func writeSpan(w io.Writer, what string, from, to time.Time) {
	fmt.Fprintf(w, "%s from %s to %s UTC (start included, end excluded)\n", what, formatMinute(from), formatMinute(to))
}

func newTopCmd() *cobra.Command {
	return newListCmd(&cobra.Command{
		Use:   "top",
		Short: "Print the most used tags over the last window",
		Long: `top prints the tags with the most distinct posts over the last --window,
most first (ties by tag), with the spelling most posts used and the
distinct accounts that posted them. Posts are exact; accounts are within
2% (docs/trends.md). The current minute is included. --topics ranks the
topics (aggregate topics) instead: each counts the distinct posts carrying
any of its tags, and lists each tag's own posts beside.`,
		Example: `  aggregate top --window 1h --limit 20
  aggregate top --window 7d --lang fr --json
  aggregate top --window 7d --topics`,
	}, (*trend.Store).Top, writeTop, nil, nil, false)
}

// newListCmd completes cmd as a command that prints one list of tags (top
// or trending) from --window, --limit and the filters. note, when set,
// adds what the rows say about themselves (on stderr); busy, when set,
// says why the list is empty although the window has posts.
func newListCmd[T any](
	cmd *cobra.Command,
	list func(*trend.Store, context.Context, trend.Query) ([]T, error),
	write func(io.Writer, []T, bool) error,
	note func(io.Writer, trend.Query, []T),
	busy func(trend.Query) func(io.Writer, uint64, trend.Extent),
	ranked bool,
) *cobra.Command {
	var (
		q            trendQuery
		limit        int
		by           string
		concentrated bool
		topics       bool
	)
	cmd.Args = cobra.NoArgs
	flags := q.register(cmd, "1h")
	cmd.Flags().IntVar(&limit, "limit", trend.DefaultLimit, fmt.Sprintf("how many tags to print (1 to %d)", trend.MaxLimit))
	// Not --by topic: trending's --by already says what it scores.
	cmd.Flags().BoolVar(&topics, "topics", false, "count topics instead of tags: each the distinct posts carrying any of its tags, with what each tag contributes (aggregate topics)")
	if ranked {
		cmd.Flags().StringVar(&by, "by", string(trend.ByAccounts), "rank on distinct accounts or on distinct posts (accounts|posts; docs/trends.md)")
		cmd.Flags().BoolVar(&concentrated, "include-concentrated", false, "list, noted, the tags one account or one instance made trend, which are left out by default (docs/trends.md)")
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var query trend.Query
		return answer(cmd, &q, flags, func(at time.Time, window time.Duration) error {
			query = trend.Query{At: at, Window: window, Limit: limit, By: trend.By(by), IncludeConcentrated: concentrated, Topics: topics, Filter: q.filter}
			return query.Validate()
		}, func(ctx context.Context, store *trend.Store) ([]T, error) {
			return list(store, ctx, query)
		}, func(w io.Writer, rows []T, asJSON bool) error {
			if !asJSON {
				from, to := trend.Span(query.At, query.Window)
				writeSpan(w, "Posts", from, to)
			}
			return write(w, rows, asJSON)
		}, func(ctx context.Context, store *trend.Store, rows []T) error {
			if note != nil {
				note(cmd.ErrOrStderr(), query, rows)
			}
			if len(rows) > 0 {
				return nil
			}
			from, to := trend.Span(query.At, query.Window)
			var says func(io.Writer, uint64, trend.Extent)
			if busy != nil {
				says = busy(query)
			}
			return explainEmpty(ctx, store, query.Filter, from, to, cmd.ErrOrStderr(), says)
		})
	}
	return cmd
}

// writeTop prints a top list as an aligned table, or as JSON.
func writeTop(w io.Writer, rows []trend.Count, asJSON bool) error {
	if asJSON {
		return writeJSON(w, rows)
	}
	tw := newTable(w)
	topics := len(rows) > 0 && rows[0].Topic != ""
	fmt.Fprintf(tw, "RANK\t%s\tCOUNT\tACCOUNTS%s\n", nameHeader(topics), membersHeader(topics))
	for i, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d%s\n", i+1, rowName(r.Topic, r.Display), r.Count, r.Accounts, membersCell(r.Members))
	}
	return tw.Flush()
}

// nameHeader is the title of the column that names a row: a tag or a
// topic.
func nameHeader(topics bool) string {
	if topics {
		return "TOPIC"
	}
	return "TAG"
}

// rowName is how a table names a row: a topic by its name, a tag as #display.
func rowName(topic, display string) string {
	if topic != "" {
		return topic
	}
	return "#" + display
}

// membersHeader and membersCell add, to a table of topics, each member
// tag's own posts.
func membersHeader(topics bool) string {
	if topics {
		return "\tTAGS (POSTS EACH)"
	}
	return ""
}

func membersCell(members []trend.TagCount) string {
	if members == nil {
		return ""
	}
	parts := make([]string, len(members))
	for i, m := range members {
		parts[i] = fmt.Sprintf("#%s %d", m.Tag, m.Count)
	}
	return "\t" + strings.Join(parts, ", ")
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
