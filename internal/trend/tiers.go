package trend

import "time"

// Tier names the table a piece of a window is counted from in schema v2
// (docs/schema-v2.md): whole days from the day rollup, whole hours from the
// hour rollup, and the rest (the minutes at the window's edges, and any
// bucket whose rollup is not up to date) from mentions, the raw rows.
type Tier int

// The tiers, finest first.
const (
	TierMentions Tier = iota
	TierHour
	TierDay
)

// String returns the tier's name as docs/schema-v2.md uses it.
func (t Tier) String() string {
	switch t {
	case TierMentions:
		return "mentions"
	case TierHour:
		return "hour"
	case TierDay:
		return "day"
	}
	return "unknown"
}

// Piece is the part [From, To) of a window that is read from one tier.
// Hour pieces start and end on whole hours, day pieces on whole days (UTC).
type Piece struct {
	Tier     Tier
	From, To time.Time
}

// Pending holds the rollup buckets that may not hold all their rows yet,
// keyed by the start of the bucket in UTC: an hour or a day that received
// rows after its last rollup, or that was never rolled up. A pending day is
// read from its hours, a pending hour from mentions, so an answer is exact
// whatever the rollup's progress.
type Pending struct {
	Hours map[time.Time]bool
	Days  map[time.Time]bool
}

// SplitWindow splits the window [from, to) into pieces read from the
// coarsest tier that is up to date for them: the minutes before the first
// whole hour and after the last from mentions, whole days from the day
// tier, the other whole hours from the hour tier, with pending buckets
// moved to the next finer tier. Adjacent pieces of one tier are joined, so
// a read needs one time range per run. The pieces cover the window exactly,
// in order, without overlap; an empty window gives none.
func SplitWindow(from, to time.Time, pending Pending) []Piece {
	from, to = from.UTC(), to.UTC()
	if !from.Before(to) {
		return nil
	}
	h1, h2 := ceilTo(from, time.Hour), to.Truncate(time.Hour)
	if !h1.Before(h2) {
		return []Piece{{TierMentions, from, to}}
	}
	var out pieces
	out.add(TierMentions, from, h1)
	d1, d2 := ceilTo(h1, 24*time.Hour), h2.Truncate(24*time.Hour)
	if !d1.Before(d2) {
		d1, d2 = h2, h2
	}
	out.hours(h1, d1, pending)
	for d := d1; d.Before(d2); d = d.Add(24 * time.Hour) {
		if pending.Days[d] {
			out.hours(d, d.Add(24*time.Hour), pending)
		} else {
			out.add(TierDay, d, d.Add(24*time.Hour))
		}
	}
	out.hours(d2, h2, pending)
	out.add(TierMentions, h2, to)
	return out
}

// pieces is a list being built in time order.
type pieces []Piece

// add appends [from, to) read from tier, joining it to the last piece when
// that one is of the same tier and ends where it starts.
func (p *pieces) add(tier Tier, from, to time.Time) {
	if !from.Before(to) {
		return
	}
	if n := len(*p); n > 0 && (*p)[n-1].Tier == tier && (*p)[n-1].To.Equal(from) {
		(*p)[n-1].To = to
		return
	}
	*p = append(*p, Piece{tier, from, to})
}

// hours adds the whole hours of [from, to), each pending one from mentions.
func (p *pieces) hours(from, to time.Time, pending Pending) {
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		if pending.Hours[h] {
			p.add(TierMentions, h, h.Add(time.Hour))
		} else {
			p.add(TierHour, h, h.Add(time.Hour))
		}
	}
}

// ceilTo rounds t up to a multiple of d since the zero time, which for an
// hour or a day is a whole UTC hour or day.
func ceilTo(t time.Time, d time.Duration) time.Time {
	f := t.Truncate(d)
	if f.Equal(t) {
		return f
	}
	return f.Add(d)
}
