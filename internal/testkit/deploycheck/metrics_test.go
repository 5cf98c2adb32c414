package deploycheck

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every metric the alerts and dashboards query is in docs/metrics.md; the
// test against the running services checks that each is exported.
func TestMetricsUsedAreCatalogued(t *testing.T) {
	root := repoRoot(t)
	catalogue, err := Catalogue(root)
	if err != nil {
		t.Fatal(err)
	}
	used, err := MetricsUsed()
	if err != nil {
		t.Fatal(err)
	}
	// The alerts alone query these; losing one means a parser or a walk
	// went wrong, not that the rules changed.
	for _, want := range []string{
		"tagpulse_aggregate_consumer_lag_messages",
		"tagpulse_aggregate_freshness_seconds",
		"tagpulse_ingest_source_up",
		"tagpulse_aggregate_errors_total",
	} {
		if !used[want] {
			t.Errorf("MetricsUsed misses %s", want)
		}
	}
	var names []string
	for name := range used {
		names = append(names, name)
		if _, ok := catalogue[name]; !ok {
			t.Errorf("%s is used by a rule or dashboard but not listed in %s", name, MetricsCatalogue)
		}
	}
	slices.Sort(names)
	t.Logf("%d metrics used: %s", len(names), strings.Join(names, " "))
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`up{job="ingest"} == 0`, nil},
		{`rate(tagpulse_ingest_posts_fetched_total[5m])`, []string{"tagpulse_ingest_posts_fetched_total"}},
		{`histogram_quantile(0.99, sum by (le) (rate(tagpulse_aggregate_freshness_seconds_bucket[5m])))`, []string{"tagpulse_aggregate_freshness_seconds"}},
		{`sum(rate(tagpulse_x_sum[1m])) / sum(rate(tagpulse_x_count[1m]))`, []string{"tagpulse_x"}},
		{`{__name__="tagpulse_ingest_source_up"} or job:tagpulse_y:sum`, []string{"tagpulse_ingest_source_up"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := MetricNames(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := MetricNames(`rate(x[5m]`); err == nil {
		t.Error("unbalanced expression: want a parse error")
	}
}

func TestCatalogue(t *testing.T) {
	catalogue, err := Catalogue(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range map[string]string{
		"tagpulse_ingest_posts_fetched_total":  "counter",
		"tagpulse_aggregate_freshness_seconds": "histogram",
		"tagpulse_ingest_source_up":            "gauge",
	} {
		if catalogue[name] != typ {
			t.Errorf("catalogue[%s] = %q, want %q", name, catalogue[name], typ)
		}
	}
}

// Every alert links its runbook section, and docs/operations.md has it.
func TestRunbooks(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, OperationsDoc))
	if err != nil {
		t.Fatal(err)
	}
	headings := make(map[string]bool)
	for _, m := range regexp.MustCompile(`(?m)^#{2,4} (\S+)\s*$`).FindAllStringSubmatch(string(raw), -1) {
		headings[m[1]] = true
	}
	rules, err := LoadRules(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if r.Alert == "" {
			continue
		}
		t.Run(r.Alert, func(t *testing.T) {
			// The URL is prometheus.yml's external label runbook_base (a
			// Prometheus without it gives the repository path) plus the
			// section's anchor.
			want := "{{ with $externalLabels.runbook_base }}{{ . }}{{ else }}" + OperationsDoc + "{{ end }}#" + strings.ToLower(r.Alert)
			if got := r.Annotations["runbook_url"]; got != want {
				t.Errorf("runbook_url annotation = %q, want %q", got, want)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Error("want summary and description annotations")
			}
			if sev := r.Labels["severity"]; sev != "critical" && sev != "warning" {
				t.Errorf("severity = %q, want critical or warning", sev)
			}
			if !headings[r.Alert] {
				t.Errorf("%s has no section headed %q", OperationsDoc, r.Alert)
			}
			section := runbookSection(string(raw), r.Alert)
			for _, part := range []string{"Meaning", "Impact", "Check", "Fix"} {
				if !strings.Contains(section, "**"+part) {
					t.Errorf("runbook section %s lacks **%s…**", r.Alert, part)
				}
			}
		})
	}
}

func runbookSection(doc, alert string) string {
	start := strings.Index(doc, "### "+alert+"\n")
	if start < 0 {
		return ""
	}
	rest := doc[start+len(alert)+5:]
	if end := strings.Index(rest, "\n### "); end >= 0 {
		rest = rest[:end]
	}
	return rest
}
