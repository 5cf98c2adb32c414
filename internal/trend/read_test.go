package trend

import (
	"strings"
	"testing"
	"time"

	"tagpulse/internal/rollup"
	"tagpulse/internal/topic"
)

// allDone is a rollup state where every bucket is done, but for the
// pending days.
type allDone struct{ pendingDays map[time.Time]bool }

func (allDone) HourDone(string, time.Time) bool      { return true }
func (a allDone) DayDone(_ string, d time.Time) bool { return !a.pendingDays[d] }

// TestSlotsOfOneBucketReadAccountCounts checks which slots read the stored
// account counts instead of merging states: those that are one whole
// bucket of the hour or day tier, only for tags and topics, and only where
// the filter leaves one row per key and bucket (none, or both source and
// language: accounts of several languages do not add up).
func TestSlotsOfOneBucketReadAccountCounts(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 30, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name        string
		tiers       rollup.Tiers
		slots       []slot
		pendingDays []time.Time
		sharded     bool
		single      map[Tier]int // pieces of whole buckets, after joining
		merged      map[Tier]int
	}{
		{name: "trending 24h: 24 whole days, the window merged",
			tiers: rollup.TagTiers, slots: trendSlots(at, day, 24),
			single: map[Tier]int{TierDay: 1}, merged: map[Tier]int{TierHour: 1, TierMentions: 2}},
		{name: "trending 1h: 24 whole hours, the window from mentions",
			tiers: rollup.TopicTiers, slots: trendSlots(at, time.Hour, 24),
			single: map[Tier]int{TierHour: 1}, merged: map[Tier]int{TierMentions: 1}},
		{name: "a pending day is read from its 24 hours and merged; the days before it stay single",
			tiers: rollup.TagTiers, slots: trendSlots(at, day, 3), pendingDays: []time.Time{time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)},
			single: map[Tier]int{TierDay: 1}, merged: map[Tier]int{TierHour: 2, TierMentions: 2}},
		{name: "top 30d: one slot of many buckets",
			tiers: rollup.TagTiers, slots: []slot{{at.Add(-30 * day), at}},
			single: map[Tier]int{}, merged: map[Tier]int{TierDay: 1, TierHour: 2, TierMentions: 2}},
		{name: "on a cluster: no account counts, a bucket's rows are per shard",
			tiers: rollup.TagTiers, slots: trendSlots(at, day, 24), sharded: true,
			single: map[Tier]int{}, merged: map[Tier]int{TierDay: 1, TierHour: 1, TierMentions: 2}},
		{name: "all posts: no account counts",
			tiers: rollup.PostTiers, slots: trendSlots(at, day, 2),
			single: map[Tier]int{}, merged: map[Tier]int{TierDay: 1, TierHour: 1, TierMentions: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to := tt.slots[0].from, tt.slots[0].to
			for _, sl := range tt.slots {
				from, to = minTime(from, sl.from), maxTime(to, sl.to)
			}
			pending := map[time.Time]bool{}
			for _, d := range tt.pendingDays {
				pending[d] = true
			}
			r := rollupProgress{st: allDone{pending}, from: from, to: to, sharded: tt.sharded}.reading(tt.tiers, topic.Members{}, tt.slots)
			for tier, want := range tt.single {
				if got := len(r.single[tier]); got != want {
					t.Errorf("single pieces of tier %v: %d %v, want %d", tier, got, r.single[tier], want)
				}
			}
			for tier, want := range tt.merged {
				if got := len(r.ranges[tier]); got != want {
					t.Errorf("merged pieces of tier %v: %d %v, want %d", tier, got, r.ranges[tier], want)
				}
			}
			for _, f := range []struct {
				filter Filter
				counts bool // may read account_count
			}{{Filter{}, true}, {Filter{Source: "rss", Lang: "fr"}, true}, {Filter{Source: "rss"}, false}, {Filter{Lang: "fr"}, false}} {
				rf := r.again()
				rf.filter = f.filter
				withAccounts := rf.sql(true)
				if got, want := strings.Contains(withAccounts, "account_count"), f.counts && len(r.single) > 0; got != want {
					t.Errorf("under %+v the read of accounts uses account_count: %v, want %v:\n%s", f.filter, got, want, withAccounts)
				}
			}
			postsOnly := r.again().sql(false)
			if strings.Contains(postsOnly, "account") {
				t.Errorf("the read of posts reads accounts:\n%s", postsOnly)
			}
		})
	}
}
