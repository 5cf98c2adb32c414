package trend

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"tagpulse/internal/rollup"
	"tagpulse/internal/topic"
)

// slot is one interval a read counts apart: the current window and each
// baseline window of trending, each step of a series, or the one window of
// top.
type slot struct{ from, to time.Time }

// reading is one read over schema v2's tiers (docs/schema-v2.md): the
// pieces of its slots per tier, the SQL being built and its bound values.
// Only fixed fragments are spliced into the SQL; every value is bound.
type reading struct {
	tiers    rollup.Tiers
	key      string         // what a row counts apart: "tag", "topic", or "" (all posts)
	members  topic.Members  // for topics: their tags, read with the rollup's state
	progress rollupProgress // the rollup's state the pieces were split by
	slotSQL  string         // the slot of a bucket starting at {ts}, in Unix seconds
	filter   Filter
	keys     []string // when set, only these tags (topics)
	args     []any
	ranges   map[Tier][]Piece
	// single holds the pieces, of the hour or day tier, of the slots that
	// are one whole bucket of it: their accounts are the rows' stored
	// account_count, with no state to merge (trending's baseline windows,
	// a series' hourly or daily steps), where the filter leaves one row
	// per key and bucket. Otherwise, and for posts, they are read as any
	// piece.
	single map[Tier][]Piece
}

// keyOf is the column a tier pair's rows are counted apart by: a tag, a
// topic, or nothing (the post tiers count all posts).
func keyOf(tiers rollup.Tiers) string {
	switch tiers {
	case rollup.TagTiers:
		return "tag"
	case rollup.TopicTiers:
		return "topic"
	}
	return ""
}

// newReading splits slots into pieces by tier, given the rollup's state.
func (s *Store) newReading(ctx context.Context, tiers rollup.Tiers, slots []slot) (*reading, error) {
	rs, err := s.newReadings(ctx, tiers, slots)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// rollupProgress is what a read learned of the rollup's progress over a
// span: which buckets of each tier table are done. A second reading of the
// same answer over other tiers (a topic's member tags) asks it again
// instead of the server.
type rollupProgress struct {
	st interface {
		HourDone(table string, h time.Time) bool
		DayDone(table string, day time.Time) bool
	}
	from, to time.Time
	// sharded is set on a cluster, where a bucket has a row per shard, whose
	// accounts do not add up: no slot reads account_count there.
	sharded bool
}

// newReadings is newReading for several sets of slots read in one
// question (trending's candidates, then all its slots): the rollup's state
// is loaded once, for the span of them all.
func (s *Store) newReadings(ctx context.Context, tiers rollup.Tiers, sets ...[]slot) ([]*reading, error) {
	from, to := sets[0][0].from, sets[0][0].to
	for _, slots := range sets {
		for _, sl := range slots {
			if sl.from.Before(from) {
				from = sl.from
			}
			if sl.to.After(to) {
				to = sl.to
			}
		}
	}
	prog := rollupProgress{from: from, to: to, sharded: s.cluster != nil}
	var err error
	if s.cluster != nil {
		prog.st = s.cluster.state(ctx, from, to)
	} else {
		prog.st, err = rollup.Load(ctx, s.conn, from, to)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the rollup's progress: %w", MissingSchema(err))
	}
	// A topic's tags, for the pieces read from mentions: read after the
	// rollup's state, as the worker reads them after the marks, so a day
	// rolled up with older definitions is no longer trusted.
	var members topic.Members
	if tiers == rollup.TopicTiers {
		if members, err = topic.ReadMembers(ctx, s.conn); err != nil {
			return nil, MissingSchema(err)
		}
	}
	out := make([]*reading, len(sets))
	for i, slots := range sets {
		out[i] = prog.reading(tiers, members, slots)
	}
	return out, nil
}

// reading splits slots, which lie within the span of p, into pieces of
// tiers by what is done.
func (p rollupProgress) reading(tiers rollup.Tiers, members topic.Members, slots []slot) *reading {
	pending := Pending{Hours: map[time.Time]bool{}, Days: map[time.Time]bool{}}
	for h := p.from.UTC().Truncate(time.Hour); h.Before(p.to); h = h.Add(time.Hour) {
		if !p.st.HourDone(tiers.Hour, h) {
			pending.Hours[h] = true
		}
	}
	for d := rollup.Day(p.from); d.Before(p.to); d = d.Add(24 * time.Hour) {
		if !p.st.DayDone(tiers.Day, d) {
			pending.Days[d] = true
		}
	}
	r := &reading{tiers: tiers, key: keyOf(tiers), members: members, progress: p, slotSQL: "0", ranges: map[Tier][]Piece{}, single: map[Tier][]Piece{}}
	for _, sl := range slots {
		pieces := SplitWindow(sl.from, sl.to, pending)
		if len(pieces) == 1 && r.key != "" && !p.sharded && oneBucket(pieces[0]) {
			r.single[pieces[0].Tier] = append(r.single[pieces[0].Tier], pieces[0])
			continue
		}
		for _, piece := range pieces {
			r.ranges[piece.Tier] = append(r.ranges[piece.Tier], piece)
		}
	}
	for tier, ps := range r.ranges {
		r.ranges[tier] = joinPieces(ps)
	}
	for tier, ps := range r.single {
		r.single[tier] = joinPieces(ps)
	}
	return r
}

// oneBucket says whether p is one whole bucket of its tier (SplitWindow's
// pieces of the hour and day tiers start on their bucket's boundary).
func oneBucket(p Piece) bool {
	switch p.Tier {
	case TierHour:
		return p.To.Sub(p.From) == time.Hour
	case TierDay:
		return p.To.Sub(p.From) == 24*time.Hour
	}
	return false
}

// again returns a reading of the same pieces for another query: none of
// the bound values, filter, keys or slot expression of r.
func (r *reading) again() *reading {
	return &reading{tiers: r.tiers, key: r.key, members: r.members, progress: r.progress, slotSQL: "0", ranges: r.ranges, single: r.single}
}

// joinPieces sorts pieces of one tier and joins those that touch: a
// bucket's slot comes from its time (slotSQL), not from its piece, so
// adjacent slots can share one time range. A series of 168 hourly steps
// then reads one range per tier instead of 168.
func joinPieces(ps []Piece) []Piece {
	slices.SortFunc(ps, func(a, b Piece) int { return a.From.Compare(b.From) })
	out := ps[:0]
	for _, p := range ps {
		if n := len(out); n > 0 && !p.From.After(out[n-1].To) {
			if p.To.After(out[n-1].To) {
				out[n-1].To = p.To
			}
			continue
		}
		out = append(out, p)
	}
	return out
}

// bind adds a named value and returns its placeholder.
func (r *reading) bind(v any) string {
	name := fmt.Sprintf("v%d", len(r.args))
	r.args = append(r.args, clickhouse.Named(name, v))
	return "@" + name
}

// rangeSQL is the condition that col lies in one of pieces.
func (r *reading) rangeSQL(col string, pieces []Piece) string {
	var b strings.Builder
	b.WriteString("(")
	for i, p := range pieces {
		if i > 0 {
			b.WriteString(" OR ")
		}
		fmt.Fprintf(&b, "(%s >= toDateTime(%s) AND %s < toDateTime(%s))", col, r.bind(p.From.Unix()), col, r.bind(p.To.Unix()))
	}
	b.WriteString(")")
	return b.String()
}

// tierFilter selects a tier's rows under the filter: the all-sources,
// all-languages rows when nothing is filtered, else the rows per source
// and language that match.
func (r *reading) tierFilter() string {
	if r.filter.Source == "" && r.filter.Lang == "" {
		return "source = '*' AND lang = '*'"
	}
	out := "source != '*'"
	if r.filter.Source != "" {
		out += " AND source = " + r.bind(r.filter.Source)
	}
	if r.filter.Lang != "" {
		out += " AND lang = " + r.bind(r.filter.Lang)
	}
	return out
}

func (r *reading) mentionsFilter() string {
	out := ""
	if r.filter.Source != "" {
		out += " AND source = " + r.bind(r.filter.Source)
	}
	if r.filter.Lang != "" {
		out += " AND lang = " + r.bind(r.filter.Lang)
	}
	return out
}

// keyFilter restricts a tier's rows to the keys asked for.
func (r *reading) keyFilter() string {
	if r.keys == nil {
		return ""
	}
	return " AND " + r.key + " IN (SELECT arrayJoin(" + r.bind(r.keys) + "))"
}

// mentionsKey returns the key of a row of mentions as SQL, and the
// condition on the rows that can have one; ok is false when none can (no
// topic asked for has a tag). A topic is every topic the row's tag
// belongs to (topic.TopicsOfTagSQL), so grouping by it with
// uniqExact(post_id) counts a post with two of its tags once.
func (r *reading) mentionsKey() (key, cond string, ok bool) {
	switch r.key {
	case "":
		return "", "", true
	case "topic":
		m := r.members.Of(r.keys)
		if m.Empty() {
			return "", "", false
		}
		return topic.TopicsOfTagSQL(r.bind(m.Tags), r.bind(m.Topics)) + " AS topic, ",
			" AND tag IN (SELECT arrayJoin(" + r.bind(m.AllTags()) + "))", true
	}
	return "tag, ", r.keyFilter(), true
}

// sql returns the read's union: one row per (tag, slot) or per slot with
// the distinct posts n and, when accounts is set, the accounts: a state a
// to merge, plus a number c for the slots of one bucket (single), whose a
// is empty. The caller groups it again, since a (tag, slot) may have rows
// from several tiers.
func (r *reading) sql(accounts bool) string {
	key := ""
	if r.key != "" {
		key = r.key + ", "
	}
	var parts []string
	tier := func(table, col string, pieces []Piece, single bool) {
		if len(pieces) == 0 {
			return
		}
		slotExpr := strings.ReplaceAll(r.slotSQL, "{ts}", "toUInt32("+col+")")
		q := "SELECT " + key + slotExpr + " AS slot, sum(posts) AS n"
		switch {
		case accounts && single:
			// An empty state of the column's type, without reading it.
			q += ", uniqCombinedStateIf(15)(source, 0) AS a, sum(account_count) AS c"
		case accounts:
			q += ", uniqCombinedMergeState(15)(accounts) AS a, toUInt64(0) AS c"
		}
		q += " FROM " + table + " WHERE " + r.tierFilter() + " AND " + r.rangeSQL(col, pieces) + r.keyFilter() +
			" GROUP BY " + key + "slot"
		parts = append(parts, q)
	}
	// A bucket has one row per key under no filter (the '*' rows) or
	// under both; under one of them, a row per language (source), whose
	// accounts do not add up: those slots merge states too.
	oneRow := (r.filter.Source == "") == (r.filter.Lang == "")
	for _, t := range []struct {
		tier       Tier
		table, col string
	}{{TierDay, r.tiers.Day, "day"}, {TierHour, r.tiers.Hour, "hour"}} {
		if accounts && oneRow {
			tier(t.table, t.col, r.ranges[t.tier], false)
			tier(t.table, t.col, r.single[t.tier], true)
			continue
		}
		all := append(slices.Clone(r.ranges[t.tier]), r.single[t.tier]...)
		tier(t.table, t.col, joinPieces(all), false)
	}
	if mkey, cond, ok := r.mentionsKey(); ok && len(r.ranges[TierMentions]) > 0 {
		pieces := r.ranges[TierMentions]
		slotExpr := strings.ReplaceAll(r.slotSQL, "{ts}", "toUInt32(created_at)")
		q := "SELECT " + mkey + slotExpr + " AS slot, uniqExact(post_id) AS n"
		if accounts {
			q += ", uniqCombinedState(15)(if(account = '', concat('post:', post_id), account)) AS a, toUInt64(0) AS c"
		}
		q += " FROM mentions WHERE " + r.rangeSQL("created_at", pieces) + r.mentionsFilter() + cond +
			" AND " + rollup.CountedSQL(r.rangeSQL("created_at", pieces)) +
			" GROUP BY " + key + "slot"
		parts = append(parts, q)
	}
	if len(parts) == 0 {
		// An empty read still needs the columns' types.
		q := "SELECT " + key + "toUInt32(0) AS slot, toUInt64(0) AS n"
		if accounts {
			q += ", uniqCombinedState(15)('') AS a, toUInt64(0) AS c"
		}
		if r.key != "" {
			q = strings.Replace(q, key, "'' AS "+key, 1)
		}
		parts = append(parts, q+" FROM system.one WHERE 0")
	}
	return strings.Join(parts, "\nUNION ALL\n")
}

// counts runs the read and returns, per tag or topic ("" for all posts)
// and slot, the distinct posts and, when accounts is set, the distinct
// accounts.
func (s *Store) counts(ctx context.Context, what string, r *reading, accounts bool) (map[string]map[int]Tally, error) {
	key := r.key
	if key == "" {
		key = "''"
	}
	q := "SELECT " + key + ", toUInt32(slot), sum(n)"
	if accounts {
		q += ", uniqCombinedMerge(15)(a) + sum(c)"
	} else {
		q += ", toUInt64(0)"
	}
	q += " FROM (" + r.sql(accounts) + ") GROUP BY " + key + ", slot"
	rows, err := s.query(ctx, what, q, r.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[int]Tally{}
	for rows.Next() {
		var (
			tag  string
			sl   uint32
			n, a uint64
		)
		if err := rows.Scan(&tag, &sl, &n, &a); err != nil {
			return nil, fmt.Errorf("reading %s: %w", what, err)
		}
		if out[tag] == nil {
			out[tag] = map[int]Tally{}
		}
		out[tag][int(sl)] = Tally{Posts: n, Accounts: a}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	return out, nil
}

// Tally is the distinct posts and accounts of one tag in one slot.
type Tally struct{ Posts, Accounts uint64 }
