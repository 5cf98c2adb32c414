package stacktest

import (
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ParseMetrics parses body, a /metrics answer in the Prometheus text
// format, into its metric families by name, with the parser Prometheus
// itself uses. A body that does not parse fails the test: a malformed
// exposition is a bug of its own, not an absent metric.
func ParseMetrics(t testing.TB, body string) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing metrics: %v", err)
	}
	return families
}

// SampleSum adds up the values of the counter, gauge and untyped samples
// of family f whose labels hold every name/value pair of labels (given as
// name, value, name, value...); with no labels it sums every label
// combination. A nil family (a metric not exported) sums to 0.
func SampleSum(f *dto.MetricFamily, labels ...string) float64 {
	var sum float64
	for _, m := range f.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum
}

// hasLabels reports whether m carries every name/value pair of pairs.
func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
