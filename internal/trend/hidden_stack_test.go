package trend

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func tagsOf[T any](items []T, tag func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = tag(it)
	}
	return out
}

func TestHiddenTags(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	store, _ := newTestStore(t, at)
	q := Query{At: at, Window: time.Hour, Limit: 20}
	top := func() []string {
		t.Helper()
		got, err := store.Top(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return tagsOf(got, func(c Count) string { return c.Tag })
	}
	trending := func() []string {
		t.Helper()
		got, err := store.Trending(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return tagsOf(got, func(c Trend) string { return c.Tag })
	}
	hiddenSeries := func() map[string]bool {
		t.Helper()
		got, err := store.Series(ctx, SeriesQuery{At: at, Window: time.Hour, Step: 30 * time.Minute, Tags: []string{"nif2025", "nato"}})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, s := range got {
			out[s.Tag] = s.Hidden
			var n uint64
			for _, p := range s.Points {
				n += p.Count
			}
			if n == 0 {
				t.Errorf("series of %s counts nothing: hiding must not change counts", s.Tag)
			}
		}
		return out
	}
	if got := top(); !slices.Equal(got, []string{"nif2025", "nato", "otan"}) {
		t.Fatalf("top before hiding = %v", got)
	}
	if got := trending(); !slices.Contains(got, "nif2025") {
		t.Fatalf("trending before hiding = %v, want nif2025 in it", got)
	}

	// Spelled as a user types it: the # and the case are normalised.
	tag, err := store.Hide(ctx, "#NIF2025", "spam wave", "ops@example", at)
	if err != nil {
		t.Fatal(err)
	}
	if tag != "nif2025" {
		t.Errorf("Hide returned %q, want nif2025", tag)
	}
	if got := top(); !slices.Equal(got, []string{"nato", "otan"}) {
		t.Errorf("top with nif2025 hidden = %v, want [nato otan]", got)
	}
	if got := trending(); slices.Contains(got, "nif2025") {
		t.Errorf("trending with nif2025 hidden = %v, want it left out", got)
	}
	if got := hiddenSeries(); !got["nif2025"] || got["nato"] {
		t.Errorf("series hidden flags = %v, want nif2025 only", got)
	}
	list, err := store.Hidden(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []HiddenTag{{Tag: "nif2025", Reason: "spam wave", By: "ops@example", At: at.Truncate(time.Second)}}
	if !slices.Equal(list, want) {
		t.Errorf("Hidden = %+v, want %+v", list, want)
	}

	// The latest row wins, merged or not.
	if _, err := store.Unhide(ctx, "nif2025", "ops@example", at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := top(); !slices.Equal(got, []string{"nif2025", "nato", "otan"}) {
		t.Errorf("top after unhiding = %v", got)
	}
	if got := hiddenSeries(); got["nif2025"] {
		t.Errorf("series hidden flags after unhiding = %v", got)
	}
	list, err = store.Hidden(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("Hidden after unhiding = %+v, want none", list)
	}

	for _, bad := range []struct{ tag, reason string }{{"", ""}, {"#", ""}, {"ok", string(make([]byte, MaxReasonLen+1))}} {
		if _, err := store.Hide(ctx, bad.tag, bad.reason, "", at); !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("Hide(%q, %d-byte reason) = %v, want ErrInvalidQuery", bad.tag, len(bad.reason), err)
		}
	}
}
