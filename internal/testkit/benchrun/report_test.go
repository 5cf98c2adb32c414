package benchrun

import (
	"strings"
	"testing"
)

// TestTableUsesPairedRatios: the ratios and verdicts of ingest and aggregate
// come from the paired runs, not from medians taken minutes apart.
func TestTableUsesPairedRatios(t *testing.T) {
	base := Report{Posts: 100, Mentions: 200, CorpusBytes: 1000, ValueBytes: 1200, Runs: 3,
		KcatProduce: 1000, KcatConsume: 1000, IngestPosts: 500, AggregatePosts: 400}
	tests := []struct {
		name        string
		ingestRatio float64
		aggRatio    float64
		want        []string
	}{
		{"targets met in pairs", 0.85, 0.55, []string{"0.85× of kcat (paired) | ≥ 0.8× kcat: met", "0.55× of kcat (paired) | ≥ 0.5× kcat: met"}},
		{"targets missed in pairs", 0.45, 0.41, []string{"0.45× of kcat (paired) | ≥ 0.8× kcat: **not met**", "0.41× of kcat (paired) | ≥ 0.5× kcat: **not met**"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			r.IngestVsKcat, r.AggregateVsKcat = tt.ingestRatio, tt.aggRatio
			table := r.Table()
			for _, w := range tt.want {
				if !strings.Contains(table, w) {
					t.Errorf("table lacks %q:\n%s", w, table)
				}
			}
		})
	}
}
