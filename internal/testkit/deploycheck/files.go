package deploycheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Paths of the deployment files, relative to the repository root.
const (
	ComposeDir         = "deploy/compose"
	ComposeFile        = ComposeDir + "/compose.yaml"
	EnvExampleFile     = ComposeDir + "/.env.example"
	PrometheusConfig   = ComposeDir + "/prometheus/prometheus.yml"
	RulesGlob          = ComposeDir + "/prometheus/rules/*.yml"
	RuleTestsGlob      = ComposeDir + "/prometheus/tests/*.yml"
	DashboardsGlob     = ComposeDir + "/grafana/dashboards/*.json"
	DatasourcesGlob    = ComposeDir + "/grafana/provisioning/datasources/*.yml"
	DashboardProviders = ComposeDir + "/grafana/provisioning/dashboards/*.yml"
	MetricsCatalogue   = "docs/metrics.md"

	// The cluster compose (three brokers, 2 shards x 2 replicas, three
	// Keeper nodes) stands beside the single-server one and shares its
	// rules, dashboards and provisioning.
	ClusterComposeDir        = ComposeDir + "/cluster"
	ClusterComposeFile       = ClusterComposeDir + "/compose.yaml"
	ClusterEnvExampleFile    = ClusterComposeDir + "/.env.example"
	ClusterPrometheusConfig  = ClusterComposeDir + "/prometheus/prometheus.yml"
	ClusterClickHouseConfig  = ClusterComposeDir + "/clickhouse/cluster.xml"
	ClusterKeeperConfig      = ClusterComposeDir + "/keeper/keeper.xml"
	ClusterJMXExporterConfig = ClusterComposeDir + "/kafka/jmx-exporter.yml"
	OperationsDoc            = "docs/operations.md"
)

// RepoRoot returns the repository root: the nearest directory at or above
// the working directory that holds go.mod and deploy/compose. Tests run in
// their package directory, so this finds the root from any package.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding repository root: %w", err)
	}
	for {
		if isFile(filepath.Join(dir, "go.mod")) && isDir(filepath.Join(dir, ComposeDir)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding repository root: no go.mod with " + ComposeDir + " above the working directory")
		}
		dir = parent
	}
}

// Glob returns the files matching pattern under root, sorted, and fails
// when there is none: a missing rule file or dashboard is an error, not an
// empty check.
func Glob(root, pattern string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(root, pattern))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", pattern, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("listing %s: no file matches", pattern)
	}
	sort.Strings(files)
	return files, nil
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
