package trend

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"golang.org/x/sync/errgroup"

	"tagpulse/internal/deletion"
	"tagpulse/internal/rollup"
)

// DefaultMaxConcentration is the share of a tag's posts in a window above
// which one account, or one instance, makes the tag concentrated: flagged,
// and left out of trending unless asked for (docs/trends.md, "Floods and
// bots").
const DefaultMaxConcentration = 0.5

// Concentration is how much of a tag's posts in a window come from its
// most active account and its most active instance, and how many posts of
// bots it had, which no count holds.
type Concentration struct {
	// TopAccountShare is the share of the tag's posts (not bots') written
	// by its most active account; a post without author is its own.
	TopAccountShare float64 `json:"top_account_share"`
	// TopInstanceShare is the share written from its most active
	// instance: the part after the @ of accounts such as user@instance
	// (Mastodon's remote accounts); other accounts belong to none.
	TopInstanceShare float64 `json:"top_instance_share"`
	// Concentrated is set when either share is above the maximum.
	Concentrated bool `json:"concentrated"`
	// BotPosts are the tag's posts by accounts their source marks as bots.
	BotPosts uint64 `json:"bot_posts"`
}

// instanceSQL is the instance of an account: what follows the @ of
// user@instance or @user@instance, else empty.
const instanceSQL = "if(match(account, '^@?[^@]+@[^@]+$'), replaceRegexpOne(account, '^@?[^@]+@', ''), '')"

// Concentrations returns the Concentration of tags over the window of q
// (its filter too): for callers that list tags another way, such as the
// count rules of watchlists.
func (s *Store) Concentrations(ctx context.Context, q Query, tags []string) (map[string]Concentration, error) {
	from, to := Span(q.At, q.Window)
	return s.concentrationReader(from, to, q.Filter).read(ctx, tags)
}

// concentrationReader reads the Concentration of tags over one window,
// for one answer: trending asks it for a few tags at a time.
type concentrationReader struct {
	s        *Store
	from, to time.Time
	filter   Filter
	// dominant are the instances that wrote more than the maximum share
	// of all the window's posts, read once, when a tag first needs them.
	dominant map[string]bool
}

func (s *Store) concentrationReader(from, to time.Time, f Filter) *concentrationReader {
	return &concentrationReader{s: s, from: from, to: to, filter: f}
}

// window is the condition on created_at of the reader's window, and its
// bound values with the filter's.
func (c *concentrationReader) window() (string, []any) {
	return "created_at >= toDateTime(@from) AND created_at < toDateTime(@to)",
		append(filterArgs(c.filter), clickhouse.Named("from", c.from.Unix()), clickhouse.Named("to", c.to.Unix()))
}

// read returns the Concentration of each of tags, from the rows of
// mentions of those tags in the window (two reads at once), and, only
// when a tag's top instance is over the maximum, the window's instances.
func (c *concentrationReader) read(ctx context.Context, tags []string) (map[string]Concentration, error) {
	s, max := c.s, c.s.params.MaxConcentration
	out := make(map[string]Concentration, len(tags))
	if len(tags) == 0 {
		return out, nil
	}
	rangeCond, args := c.window()
	// Bots' rows are read too, to count them apart; deleted posts are not.
	where := "tag IN (SELECT arrayJoin(@tags)) AND " + rangeCond + filterSQL(c.filter) + " AND " + deletion.NotDeletedSQL(rangeCond)
	args = append(args, clickhouse.Named("tags", tags))
	type accounts struct{ posts, top, bots uint64 }
	var (
		g     errgroup.Group
		byAcc = map[string]accounts{}
	)
	g.Go(func() error {
		return s.scan(ctx, "the tags' most active accounts", `SELECT tag, sumIf(n, bot = 0), maxIf(n, bot = 0), sumIf(n, bot = 1)
FROM (
    SELECT tag, bot, if(account = '', concat('post:', post_id), account) AS a, uniqExact(post_id) AS n
    FROM mentions
    WHERE `+where+`
    GROUP BY tag, bot, a)
GROUP BY tag`, args, func(scan func(...any) error) error {
			var tag string
			var a accounts
			if err := scan(&tag, &a.posts, &a.top, &a.bots); err != nil {
				return err
			}
			byAcc[tag] = a
			return nil
		})
	})
	type instance struct {
		name  string
		posts uint64
	}
	byIns := map[string]instance{}
	g.Go(func() error {
		return s.scan(ctx, "the tags' most active instances", `SELECT tag, argMax(i, (n, i)), max(n)
FROM (
    SELECT tag, `+instanceSQL+` AS i, uniqExact(post_id) AS n
    FROM mentions
    WHERE `+where+` AND bot = 0
    GROUP BY tag, i
    HAVING i != '')
GROUP BY tag`, args, func(scan func(...any) error) error {
			var tag string
			var in instance
			if err := scan(&tag, &in.name, &in.posts); err != nil {
				return err
			}
			byIns[tag] = in
			return nil
		})
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, tag := range tags {
		a, in := byAcc[tag], byIns[tag]
		out[tag] = Concentration{BotPosts: a.bots}
		if a.posts == 0 {
			continue
		}
		conc := out[tag]
		conc.TopAccountShare = round(float64(a.top)/float64(a.posts), 3)
		conc.TopInstanceShare = round(float64(in.posts)/float64(a.posts), 3)
		conc.Concentrated = conc.TopAccountShare > max
		if conc.TopInstanceShare > max && !conc.Concentrated {
			// An instance that wrote most of all the window's posts (a
			// deployment that follows one instance's timeline) makes no
			// tag concentrated: only one over-represented in a tag does.
			dominant, err := c.dominantInstances(ctx)
			if err != nil {
				return nil, err
			}
			conc.Concentrated = !dominant[in.name]
		}
		out[tag] = conc
	}
	return out, nil
}

// dominantInstances returns the instances that wrote more than the
// maximum share of all the posts in the window: one read of the window's
// rows of mentions, made once per reader.
func (c *concentrationReader) dominantInstances(ctx context.Context) (map[string]bool, error) {
	if c.dominant != nil {
		return c.dominant, nil
	}
	rangeCond, args := c.window()
	var total uint64
	shares := map[string]uint64{}
	err := c.s.scan(ctx, "the window's instances", `SELECT `+instanceSQL+` AS i, uniqExact(post_id)
FROM mentions
WHERE `+rangeCond+filterSQL(c.filter)+` AND `+rollup.CountedSQL(rangeCond)+`
GROUP BY i`, args, func(scan func(...any) error) error {
		var name string
		var n uint64
		if err := scan(&name, &n); err != nil {
			return err
		}
		shares[name] = n
		total += n
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.dominant = map[string]bool{}
	for name, n := range shares {
		if name != "" && float64(n)/float64(total) > c.s.params.MaxConcentration {
			c.dominant[name] = true
		}
	}
	return c.dominant, nil
}

// scan runs a query and calls row for each row with a function that scans
// it; errors are named after what.
func (s *Store) scan(ctx context.Context, what, sql string, args []any, row func(scan func(...any) error) error) error {
	rows, err := s.query(ctx, what, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return fmt.Errorf("reading %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", what, err)
	}
	return nil
}
