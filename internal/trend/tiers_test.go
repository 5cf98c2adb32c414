package trend

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// splitTime parses "2006-01-02 15:04" in UTC.
func splitTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// renderPieces writes pieces as "tier from-to" lines, times as "01-02 15:04".
func renderPieces(ps []Piece) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%s %s-%s\n", p.Tier, p.From.Format("01-02 15:04"), p.To.Format("01-02 15:04"))
	}
	return b.String()
}

func TestSplitWindow(t *testing.T) {
	cases := []struct {
		name         string
		from, to     string
		pendingHours []string
		pendingDays  []string
		want         string
	}{
		{name: "empty window", from: "2026-12-06 17:37", to: "2026-12-06 17:37"},
		{name: "inside one hour", from: "2026-12-06 17:05", to: "2026-12-06 17:37",
			want: "mentions 12-06 17:05-12-06 17:37\n"},
		{name: "one hour across an hour boundary", from: "2026-12-06 16:37", to: "2026-12-06 17:37",
			want: "mentions 12-06 16:37-12-06 17:37\n"},
		{name: "an aligned hour", from: "2026-12-06 16:00", to: "2026-12-06 17:00",
			want: "hour 12-06 16:00-12-06 17:00\n"},
		{name: "hours with edges, no whole day", from: "2026-12-05 17:37", to: "2026-12-06 17:37",
			want: "mentions 12-05 17:37-12-05 18:00\nhour 12-05 18:00-12-06 17:00\nmentions 12-06 17:00-12-06 17:37\n"},
		{name: "days between hours", from: "2026-12-03 17:37", to: "2026-12-06 17:37",
			want: "mentions 12-03 17:37-12-03 18:00\nhour 12-03 18:00-12-04 00:00\nday 12-04 00:00-12-06 00:00\nhour 12-06 00:00-12-06 17:00\nmentions 12-06 17:00-12-06 17:37\n"},
		{name: "aligned days", from: "2026-12-04 00:00", to: "2026-12-06 00:00",
			want: "day 12-04 00:00-12-06 00:00\n"},
		{name: "a pending hour outside the days", from: "2026-12-03 17:37", to: "2026-12-05 02:00",
			pendingHours: []string{"2026-12-05 00:00"},
			want:         "mentions 12-03 17:37-12-03 18:00\nhour 12-03 18:00-12-04 00:00\nday 12-04 00:00-12-05 00:00\nmentions 12-05 00:00-12-05 01:00\nhour 12-05 01:00-12-05 02:00\n"},
		{name: "a pending hour next to an edge joins it", from: "2026-12-06 14:37", to: "2026-12-06 17:37",
			pendingHours: []string{"2026-12-06 16:00"},
			want:         "mentions 12-06 14:37-12-06 15:00\nhour 12-06 15:00-12-06 16:00\nmentions 12-06 16:00-12-06 17:37\n"},
		{name: "a pending day is read from its hours, a pending hour in it from mentions", from: "2026-12-04 00:00", to: "2026-12-07 00:00",
			pendingDays:  []string{"2026-12-05 00:00"},
			pendingHours: []string{"2026-12-05 10:00", "2026-12-05 11:00"},
			want:         "day 12-04 00:00-12-05 00:00\nhour 12-05 00:00-12-05 10:00\nmentions 12-05 10:00-12-05 12:00\nhour 12-05 12:00-12-06 00:00\nday 12-06 00:00-12-07 00:00\n"},
		{name: "a pending hour inside a day that is done stays in the day", from: "2026-12-04 00:00", to: "2026-12-05 00:00",
			pendingHours: []string{"2026-12-04 10:00"},
			want:         "day 12-04 00:00-12-05 00:00\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Pending{Hours: map[time.Time]bool{}, Days: map[time.Time]bool{}}
			for _, h := range c.pendingHours {
				p.Hours[splitTime(t, h)] = true
			}
			for _, d := range c.pendingDays {
				p.Days[splitTime(t, d)] = true
			}
			got := renderPieces(SplitWindow(splitTime(t, c.from), splitTime(t, c.to), p))
			if got != c.want {
				t.Errorf("SplitWindow(%s, %s):\ngot\n%swant\n%s", c.from, c.to, got, c.want)
			}
		})
	}
}

// TestSplitWindowCovers checks on random windows and pending sets that the
// pieces cover the window exactly, in order, that hour and day pieces lie
// on whole hours and days, that no pending bucket is read from its tier,
// and that no two adjacent pieces share a tier.
func TestSplitWindowCovers(t *testing.T) {
	rng := rand.New(rand.NewSource(18))
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 2000; i++ {
		from := base.Add(time.Duration(rng.Intn(40*24*60)) * time.Minute)
		to := from.Add(time.Duration(rng.Intn(10*24*60)) * time.Minute)
		p := Pending{Hours: map[time.Time]bool{}, Days: map[time.Time]bool{}}
		for j := 0; j < rng.Intn(30); j++ {
			p.Hours[base.Add(time.Duration(rng.Intn(50*24))*time.Hour)] = true
		}
		for j := 0; j < rng.Intn(5); j++ {
			p.Days[base.Add(time.Duration(rng.Intn(50))*24*time.Hour)] = true
		}
		ps := SplitWindow(from, to, p)
		at := from
		for k, pc := range ps {
			if !pc.From.Equal(at) || !pc.From.Before(pc.To) {
				t.Fatalf("window %s-%s: piece %d is %s-%s, want it to start at %s and not be empty", from, to, k, pc.From, pc.To, at)
			}
			if k > 0 && ps[k-1].Tier == pc.Tier {
				t.Fatalf("window %s-%s: pieces %d and %d are both %s", from, to, k-1, k, pc.Tier)
			}
			unit := map[Tier]time.Duration{TierHour: time.Hour, TierDay: 24 * time.Hour}[pc.Tier]
			if unit > 0 && (!pc.From.Truncate(unit).Equal(pc.From) || !pc.To.Truncate(unit).Equal(pc.To)) {
				t.Fatalf("window %s-%s: %s piece %s-%s is not on whole buckets", from, to, pc.Tier, pc.From, pc.To)
			}
			for h := pc.From.Truncate(time.Hour); pc.Tier != TierMentions && h.Before(pc.To); h = h.Add(time.Hour) {
				if pc.Tier == TierHour && p.Hours[h] {
					t.Fatalf("window %s-%s: pending hour %s read from the hour tier", from, to, h)
				}
				if pc.Tier == TierDay && p.Days[h.Truncate(24*time.Hour)] {
					t.Fatalf("window %s-%s: pending day %s read from the day tier", from, to, h.Truncate(24*time.Hour))
				}
			}
			at = pc.To
		}
		if from.Before(to) && !at.Equal(to) {
			t.Fatalf("window %s-%s: pieces end at %s", from, to, at)
		}
	}
}

func TestJoinPieces(t *testing.T) {
	p := func(tier Tier, from, to string) Piece {
		return Piece{tier, splitTime(t, "2026-11-20 "+from), splitTime(t, "2026-11-20 "+to)}
	}
	for _, tc := range []struct {
		name     string
		in, want []Piece
	}{
		{"adjacent steps join", []Piece{p(TierHour, "01:00", "02:00"), p(TierHour, "02:00", "03:00"), p(TierHour, "03:00", "04:00")},
			[]Piece{p(TierHour, "01:00", "04:00")}},
		{"out of order, with a gap", []Piece{p(TierHour, "05:00", "06:00"), p(TierHour, "01:00", "02:00"), p(TierHour, "02:00", "03:00")},
			[]Piece{p(TierHour, "01:00", "03:00"), p(TierHour, "05:00", "06:00")}},
		{"one piece", []Piece{p(TierMentions, "01:07", "01:30")}, []Piece{p(TierMentions, "01:07", "01:30")}},
		{"none", nil, []Piece{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := joinPieces(tc.in)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("joinPieces = %v, want %v", got, tc.want)
			}
		})
	}
}
