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
	return s.concentrations(ctx, tags, from, to, q.Filter, s.params.MaxConcentration)
}

// concentrations reads the Concentration of each of tags over [from, to)
// under f, from the rows of mentions of those tags in the window (two
// reads at once). max is the share above which a tag is concentrated.
func (s *Store) concentrations(ctx context.Context, tags []string, from, to time.Time, f Filter, max float64) (map[string]Concentration, error) {
	out := make(map[string]Concentration, len(tags))
	if len(tags) == 0 {
		return out, nil
	}
	rangeCond := "created_at >= toDateTime(@from) AND created_at < toDateTime(@to)"
	// Bots' rows are read too, to count them apart; deleted posts are not.
	where := "tag IN (SELECT arrayJoin(@tags)) AND " + rangeCond + filterSQL(f) + " AND " + deletion.NotDeletedSQL(rangeCond)
	args := append(filterArgs(f), clickhouse.Named("tags", tags), clickhouse.Named("from", from.Unix()), clickhouse.Named("to", to.Unix()))
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
	// An instance that wrote most of all the window's posts (a deployment
	// that follows one instance's timeline) makes no tag concentrated:
	// only an instance over-represented in a tag does.
	insts := map[string]bool{}
	for _, in := range byIns {
		insts[in.name] = true
	}
	dominant, err := s.dominantInstances(ctx, insts, from, to, f, max)
	if err != nil {
		return nil, err
	}
	for _, tag := range tags {
		a, in := byAcc[tag], byIns[tag]
		c := Concentration{BotPosts: a.bots}
		if a.posts > 0 {
			c.TopAccountShare = round(float64(a.top)/float64(a.posts), 3)
			c.TopInstanceShare = round(float64(in.posts)/float64(a.posts), 3)
		}
		c.Concentrated = c.TopAccountShare > max || (c.TopInstanceShare > max && !dominant[in.name])
		out[tag] = c
	}
	return out, nil
}

// dominantInstances returns which of insts wrote more than max of all the
// posts in [from, to) under f: one read of the window's rows of mentions.
func (s *Store) dominantInstances(ctx context.Context, insts map[string]bool, from, to time.Time, f Filter, max float64) (map[string]bool, error) {
	out := map[string]bool{}
	if len(insts) == 0 {
		return out, nil
	}
	names := make([]string, 0, len(insts))
	for name := range insts {
		names = append(names, name)
	}
	rangeCond := "created_at >= toDateTime(@from) AND created_at < toDateTime(@to)"
	args := append(filterArgs(f), clickhouse.Named("from", from.Unix()), clickhouse.Named("to", to.Unix()))
	var total uint64
	shares := map[string]uint64{}
	err := s.scan(ctx, "the window's instances", `SELECT `+instanceSQL+` AS i, uniqExact(post_id)
FROM mentions
WHERE `+rangeCond+filterSQL(f)+` AND `+rollup.CountedSQL(rangeCond)+`
GROUP BY i`, args, func(scan func(...any) error) error {
		var name string
		var n uint64
		if err := scan(&name, &n); err != nil {
			return err
		}
		shares[name] = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, n := range shares {
		total += n
	}
	for _, name := range names {
		out[name] = total > 0 && float64(shares[name])/float64(total) > max
	}
	return out, nil
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
