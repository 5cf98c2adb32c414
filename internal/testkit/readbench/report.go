package readbench

import (
	"fmt"
	"strings"
	"time"
)

// Targets of issue 18 at the large size.
const (
	targetP95    = 300 * time.Millisecond
	targetGrowth = 2.0  // large p50 / small p50
	targetShare  = 0.50 // count tables / mentions
)

// Markdown renders the report: per server, each read's p50/p95 on v1 and
// v2 at every size and how it grew, then loads, rollups and storage.
func (r *Report) Markdown(command, commit, date, machine string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Commit `%s`, %s, %s.\n\nCommand: `%s`. History: posts over %d days, 1–3 tags each from 50,000 (log-uniform), authors from 300,000, 5%% without one; loaded straight into ClickHouse. Each figure: %d timed runs after one untimed, p50 / p95 in ms. Targets (issue 18) at the largest size: v2 p95 ≤ %d ms, v2 p50 at most %.0f× the smallest size's, count tables ≤ %.0f%% of `mentions`.\n\n",
		commit, date, machine, command, r.Config.Days, r.Config.Runs, targetP95.Milliseconds(), targetGrowth, targetShare*100)
	for _, srv := range r.servers() {
		res := r.of(srv)
		if len(res) == 0 {
			continue
		}
		small, large := res[0], res[len(res)-1]
		fmt.Fprintf(&b, "#### %s (ClickHouse %s)\n\n", srv, large.Version)
		b.WriteString("| read |")
		for _, x := range res {
			fmt.Fprintf(&b, " v1 %s | v2 %s |", posts(x.Posts), posts(x.Posts))
		}
		b.WriteString(" v1 growth | v2 growth | v2 target |\n|---|")
		for range res {
			b.WriteString("---:|---:|")
		}
		b.WriteString("---:|---:|---|\n")
		for _, name := range readNames {
			fmt.Fprintf(&b, "| %s |", name)
			for _, x := range res {
				fmt.Fprintf(&b, " %s | %s |", fig(x.V1, name), fig(x.V2, name))
			}
			g1, g2 := "—", "—"
			if len(res) > 1 {
				g1, g2 = growth(small.V1, large.V1, name), growth(small.V2, large.V2, name)
			}
			fmt.Fprintf(&b, " %s | %s | %s |\n", g1, g2, verdict(small, large, name))
		}
		b.WriteString("\n| size | mentions | load v1 (views) | load v2 | v2 rollup of all days | v1 `mentions` | v1 counts | v2 `mentions` | v2 counts | v2 counts / `mentions` |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, x := range res {
			share := float64(x.Bytes["v2 counts"]) / float64(max(1, x.Bytes["v2 mentions"]))
			mark := "meets"
			if share > targetShare {
				mark = "misses"
			}
			fmt.Fprintf(&b, "| %s | %d | %.0f s | %.0f s | %.0f s | %s | %s | %s | %s | %.0f%% (%s) |\n",
				posts(x.Posts), x.Mentions, x.LoadV1.Seconds(), x.LoadV2.Seconds(), x.Rollup.Seconds(),
				mib(x.Bytes["v1 mentions"]), mib(x.Bytes["v1 counts"]), mib(x.Bytes["v2 mentions"]), mib(x.Bytes["v2 counts"]), share*100, mark)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (r *Report) servers() []string {
	var out []string
	for _, x := range r.Results {
		if len(out) == 0 || out[len(out)-1] != x.Server {
			out = append(out, x.Server)
		}
	}
	return out
}

func (r *Report) of(server string) []Result {
	var out []Result
	for _, x := range r.Results {
		if x.Server == server {
			out = append(out, x)
		}
	}
	return out
}

func fig(m map[string]Figure, name string) string {
	f, ok := m[name]
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%d / %d", f.P50.Milliseconds(), f.P95.Milliseconds())
}

func growth(small, large map[string]Figure, name string) string {
	a, ok1 := small[name]
	b, ok2 := large[name]
	if !ok1 || !ok2 || a.P50 <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f×", float64(b.P50)/float64(a.P50))
}

func verdict(small, large Result, name string) string {
	l, ok := large.V2[name]
	if !ok {
		return "—"
	}
	var missed []string
	if l.P95 > targetP95 {
		missed = append(missed, "p95")
	}
	if s, ok := small.V2[name]; ok && small.Posts != large.Posts && s.P50 > 0 && float64(l.P50)/float64(s.P50) > targetGrowth {
		missed = append(missed, "growth")
	}
	if len(missed) == 0 {
		return "meets"
	}
	return "misses " + strings.Join(missed, ", ")
}

func posts(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

func mib(n uint64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
