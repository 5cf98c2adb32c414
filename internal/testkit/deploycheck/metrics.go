package deploycheck

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// MetricPrefix starts the name of every metric tagpulse exports.
const MetricPrefix = "tagpulse_"

// MetricsUsed returns every tagpulse_* metric name that the alert and
// recording rules and the Grafana dashboards query, found from the
// repository root above the working directory. Histogram series
// (_bucket, _sum, _count) are reported under the histogram's name, as
// docs/metrics.md and a /metrics scrape name them.
func MetricsUsed() (map[string]bool, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	return MetricsUsedIn(root)
}

// MetricsUsedIn is MetricsUsed for the repository at root.
func MetricsUsedIn(root string) (map[string]bool, error) {
	used := make(map[string]bool)
	rules, err := LoadRules(root)
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		if err := addMetrics(used, r.Expr); err != nil {
			return nil, fmt.Errorf("rule %s in %s: %w", r.Name(), r.File, err)
		}
	}
	dashboards, err := LoadDashboards(root)
	if err != nil {
		return nil, err
	}
	for _, d := range dashboards {
		queries, err := d.PromQueries()
		if err != nil {
			return nil, err
		}
		for _, q := range queries {
			if err := addMetrics(used, q.Expanded); err != nil {
				return nil, fmt.Errorf("%s: %w", q, err)
			}
		}
	}
	return used, nil
}

// MetricNames parses a PromQL expression (Grafana variables already
// expanded) and returns the tagpulse_* metrics its selectors name,
// histogram series mapped back to the histogram.
func MetricNames(expr string) ([]string, error) {
	set := make(map[string]bool)
	if err := addMetrics(set, expr); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	return names, nil
}

func addMetrics(set map[string]bool, expr string) error {
	e, err := newParser().ParseExpr(expr)
	if err != nil {
		return fmt.Errorf("parsing PromQL %q: %w", expr, err)
	}
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		if name := selectorName(vs); strings.HasPrefix(name, MetricPrefix) {
			set[histogramName(name)] = true
		}
		return nil
	})
	return nil
}

// selectorName is the metric name of a selector, written either as
// name{…} or as {__name__="name", …}.
func selectorName(vs *parser.VectorSelector) string {
	if vs.Name != "" {
		return vs.Name
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

func histogramName(series string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(series, suffix); ok {
			return base
		}
	}
	return series
}

// catalogueRow matches a row of a metric table in docs/metrics.md:
// | `tagpulse_…` | type | labels | meaning |
var catalogueRow = regexp.MustCompile("^\\|\\s*`(" + MetricPrefix + "[a-z0-9_]+)`\\s*\\|\\s*([a-z]+)\\s*\\|")

// Catalogue returns the metrics docs/metrics.md lists under root, each
// with its type (counter, gauge, histogram).
func Catalogue(root string) (map[string]string, error) {
	path := filepath.Join(root, MetricsCatalogue)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading metric catalogue: %w", err)
	}
	defer f.Close()
	metrics := make(map[string]string)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := catalogueRow.FindStringSubmatch(sc.Text()); m != nil {
			metrics[m[1]] = m[2]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(metrics) == 0 {
		return nil, fmt.Errorf("reading %s: no metric table rows", path)
	}
	return metrics, nil
}
