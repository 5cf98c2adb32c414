package readbench

import (
	"strings"
	"testing"
	"time"
)

func TestVerdictAndGrowth(t *testing.T) {
	ms := func(p50, p95 int) Figure {
		return Figure{time.Duration(p50) * time.Millisecond, time.Duration(p95) * time.Millisecond}
	}
	for _, tc := range []struct {
		name         string
		small, large Figure
		growth, says string
	}{
		{"fast and flat", ms(50, 60), ms(90, 120), "1.8×", "meets"},
		{"slow at the large size", ms(200, 250), ms(250, 400), "1.2×", "misses p95"},
		{"grows too fast", ms(10, 20), ms(60, 80), "6.0×", "misses growth"},
		{"both", ms(100, 120), ms(900, 1200), "9.0×", "misses p95, growth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			small := Result{Posts: 2_000_000, V2: map[string]Figure{"top 1h": tc.small}}
			large := Result{Posts: 20_000_000, V2: map[string]Figure{"top 1h": tc.large}}
			if got := growth(small.V2, large.V2, "top 1h"); got != tc.growth {
				t.Errorf("growth %s, want %s", got, tc.growth)
			}
			if got := verdict(small, large, "top 1h"); got != tc.says {
				t.Errorf("verdict %q, want %q", got, tc.says)
			}
		})
	}
	if got := verdict(Result{}, Result{V2: map[string]Figure{}}, "top 1h"); got != "—" {
		t.Errorf("a read not measured: %q, want —", got)
	}
}

func TestMarkdownHasEveryReadAndTheStorageShare(t *testing.T) {
	res := func(n int, counts uint64) Result {
		r := Result{Server: "18.16", Version: "18.16.1", Posts: n, V1: map[string]Figure{}, V2: map[string]Figure{},
			Bytes: map[string]uint64{"v2 mentions": 100 << 20, "v2 counts": counts << 20}}
		for _, name := range readNames {
			r.V2[name] = Figure{time.Millisecond, 2 * time.Millisecond}
		}
		return r
	}
	r := &Report{Config: Config{Days: 30, Runs: 3}, Results: []Result{res(2_000_000, 40), res(20_000_000, 60)}}
	md := r.Markdown("make bench", "abc", "2026-12-07", "2 CPUs")
	for _, name := range readNames {
		if !strings.Contains(md, "| "+name+" |") {
			t.Errorf("no row for %s:\n%s", name, md)
		}
	}
	if !strings.Contains(md, "| 40% (meets) |") || !strings.Contains(md, "| 60% (misses) |") {
		t.Errorf("the storage shares are not judged against 50%%:\n%s", md)
	}
	if !strings.Contains(md, "| v1 2M | v2 2M | v1 20M | v2 20M |") {
		t.Errorf("no column per schema and size:\n%s", md)
	}
}
