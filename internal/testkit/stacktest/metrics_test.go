package stacktest

import "testing"

func TestSampleSum(t *testing.T) {
	const body = `# TYPE requests_total counter
requests_total{code="202",handler="hook"} 1
requests_total{code="202",handler="api"} 2
requests_total{code="500",handler="api"} 4
# TYPE up gauge
up 1
# TYPE latency_seconds histogram
latency_seconds_bucket{le="+Inf"} 3
latency_seconds_sum 0.5
latency_seconds_count 3
`
	families := ParseMetrics(t, body)
	for _, tc := range []struct {
		name   string
		family string
		labels []string
		want   float64
	}{
		{"every label combination", "requests_total", nil, 7},
		{"one label", "requests_total", []string{"code", "202"}, 3},
		{"two labels", "requests_total", []string{"code", "202", "handler", "api"}, 2},
		{"no sample matches", "requests_total", []string{"code", "404"}, 0},
		{"gauge", "up", nil, 1},
		{"histogram has no plain value", "latency_seconds", nil, 0},
		{"metric not exported", "absent_total", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SampleSum(families[tc.family], tc.labels...); got != tc.want {
				t.Errorf("SampleSum(%s, %q) = %v, want %v", tc.family, tc.labels, got, tc.want)
			}
		})
	}
}
