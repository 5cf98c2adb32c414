package aggregatecli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"tagpulse/internal/trend"
)

func newTagCmd() *cobra.Command {
	var (
		q     trendQuery
		posts int
	)
	cmd := &cobra.Command{
		Use:   "tag TAG",
		Short: "Print one tag's page: its counts, chart, co-occurring tags and latest posts",
		Long: `tag prints what the web page /tags/TAG shows for the last --window:
- the tag's distinct posts and accounts, beside the previous window of the
  same length;
- its chart, per hour for windows up to 3 days and per day beyond, over
  twice the window (at least 24 steps);
- since when it has been rising (docs/trends.md, "Tag pages"), if it is;
- the tags used most often with it, among its latest 1,000 posts;
- its latest --posts posts, newest first, with author, source, language,
  link and the start of their text.

A tag an operator hid from top and trending still has its page, marked as
hidden. --csv prints the listed posts; --json the whole page.`,
		Example: `  aggregate tag otan --window 24h
  aggregate tag '#Réarmement' --window 7d --lang fr --posts 50
  aggregate tag nato --csv > nato-posts.csv`,
		Args: cobra.ExactArgs(1),
	}
	flags := q.register(cmd, "1h")
	cmd.Flags().IntVar(&posts, "posts", trend.DefaultTagPosts, fmt.Sprintf("how many of the latest posts to list (1 to %d)", trend.MaxTagPosts))
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var query trend.TagQuery
		return answer(cmd, &q, flags, func(at time.Time, window time.Duration) error {
			query = trend.TagQuery{Tag: args[0], At: at, Window: window, Posts: posts, Filter: q.filter}
			return query.Validate()
		}, func(ctx context.Context, store *trend.Store) (trend.TagPage, error) {
			return store.Tag(ctx, query)
		}, writeTagPage, func(ctx context.Context, store *trend.Store, page trend.TagPage) error {
			if page.Count > 0 {
				return nil
			}
			return explainEmpty(ctx, store, query.Filter, page.From, page.To, cmd.ErrOrStderr(), func(w io.Writer, n uint64, _ trend.Extent) {
				fmt.Fprintf(w, "#%s is not in the %d posts with hashtags from %s to %s UTC; `aggregate top` lists the tags used\n",
					page.Tag, n, formatMinute(page.From), formatMinute(page.To))
			})
		})
	}
	return cmd
}

// writeTagPage prints a tag page as text, or as JSON.
func writeTagPage(w io.Writer, p trend.TagPage, asJSON bool) error {
	if asJSON {
		return writeJSON(w, p)
	}
	hidden := ""
	if p.Hidden {
		hidden = " (hidden from top and trending)"
	}
	fmt.Fprintf(w, "#%s%s\n", p.Display, hidden)
	if len(p.Topics) > 0 {
		fmt.Fprintf(w, "In topics: %s\n", strings.Join(p.Topics, ", "))
	}
	writeSpan(w, "Posts", p.From, p.To)
	fmt.Fprintf(w, "%s from %s; the window before: %s from %s (%s)\n", plural(p.Count, "post"), plural(p.Accounts, "account"),
		plural(p.Previous.Count, "post"), plural(p.Previous.Accounts, "account"), change(p.Count, p.Previous.Count))
	if p.Concentrated {
		fmt.Fprintf(w, "Concentrated: %.0f%% of its posts from its top account, %.0f%% from its top instance; it does not trend\n",
			p.TopAccountShare*100, p.TopInstanceShare*100)
	}
	if p.BotPosts > 0 {
		fmt.Fprintf(w, "%s by bots, counted apart\n", plural(p.BotPosts, "post"))
	}
	if p.RisingSince != nil {
		fmt.Fprintf(w, "Rising since %s UTC\n", formatMinute(*p.RisingSince))
	} else {
		fmt.Fprintln(w, "Not rising")
	}

	fmt.Fprintf(w, "\nPer %s (step start, UTC):\n", stepWord(p.Step))
	tw := newTable(w)
	fmt.Fprintln(tw, "STEP START\tPOSTS\tACCOUNTS")
	for _, pt := range p.Points {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", formatMinute(pt.Time), pt.Count, pt.Accounts)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(p.CoTags) > 0 {
		fmt.Fprintf(w, "\nUsed with it, among its latest %d posts:\n", p.CoSample)
		tw = newTable(w)
		fmt.Fprintln(tw, "TAG\tPOSTS")
		for _, c := range p.CoTags {
			fmt.Fprintf(tw, "#%s\t%d\n", c.Display, c.Count)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if len(p.Posts) > 0 {
		fmt.Fprintf(w, "\nLatest posts:\n")
		for _, post := range p.Posts {
			who := post.Author
			if who == "" {
				who = "(no author)"
			}
			line := []string{formatMinute(post.CreatedAt), who, post.Source}
			for _, v := range []string{post.Lang, post.URL} {
				if v != "" {
					line = append(line, v)
				}
			}
			fmt.Fprintf(w, "- %s\n", strings.Join(line, "  "))
			if post.Excerpt != "" {
				fmt.Fprintf(w, "  %s\n", strings.Join(strings.Fields(post.Excerpt), " "))
			}
		}
	}
	return nil
}

// plural writes n and the word, with an s unless n is 1.
func plural(n uint64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// change says how now compares with before, as a sign and percentage.
func change(now, before uint64) string {
	switch {
	case before == 0 && now == 0:
		return "no change"
	case before == 0:
		return "new"
	}
	return fmt.Sprintf("%+.0f%%", (float64(now)-float64(before))/float64(before)*100)
}

func stepWord(step string) string {
	switch step {
	case "1h":
		return "hour"
	case "1d":
		return "day"
	}
	return step
}
