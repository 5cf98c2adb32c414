// Package deploycheck validates tagpulse's deployment files without a
// Docker engine: the compose project in deploy/compose (loaded with
// compose-go), the Prometheus configuration, alert and recording rules
// (promtool check and promtool's rule unit tests), and the Grafana
// provisioning and dashboards (decoded into grafana-foundation-sdk types,
// every PromQL expression parsed).
//
// Its exported functions list what the alerts and dashboards depend on, so
// that a test against the running services can check it: MetricsUsed
// returns every tagpulse_* metric the rules and dashboards query, and
// Catalogue returns the metrics docs/metrics.md promises.
package deploycheck
