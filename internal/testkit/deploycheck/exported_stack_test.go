package deploycheck

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/chstore"
	"tagpulse/internal/testkit/stacktest"
)

// TestEveryUsedMetricIsExported runs the real ingest and aggregate daemons
// against the local stack, scrapes their /metrics, and checks that every
// metric an alert rule or a dashboard uses, and every metric of the
// catalogue in docs/metrics.md, is exported by one of them.
func TestEveryUsedMetricIsExported(t *testing.T) {
	kafka := stacktest.Kafka(t, 2)
	store, _ := stacktest.ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := chstore.Migrate(ctx, store); err != nil {
		t.Fatal(err)
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := stacktest.Binaries(t)

	posts := t.TempDir()
	if err := os.WriteFile(filepath.Join(posts, "a.jsonl"), []byte(`{"id":"m1","text":"#OTAN #Drones"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	aggregateAddr, ingestAddr, webhookAddr := stacktest.FreeAddr(t), stacktest.FreeAddr(t), stacktest.FreeAddr(t)
	env := []string{"KAFKA_BROKERS=" + strings.Join(kafka.Brokers, ","), "KAFKA_TOPIC=" + kafka.Topic,
		"INGEST_WEBHOOK_TOKEN=metrics-test-token"}
	stacktest.Start(t, "aggregate run", filepath.Join(bin, "aggregate"), env, "run", "--http-addr", aggregateAddr,
		"--clickhouse-dsn", store.DSN, "--kafka-group", stacktest.UniqueName("metrics"), "--retention", "0")
	stacktest.Start(t, "ingest run", filepath.Join(bin, "ingest"), env, "run", "--metrics-addr", ingestAddr, "--webhook-addr", webhookAddr,
		"--source", "file="+posts, "--source", "rss=http://127.0.0.1:1/feed.xml",
		"--source", "bluesky=ws://127.0.0.1:1/subscribe", "--state-dir", t.TempDir())

	exported := map[string]bool{}
	for _, addr := range []string{aggregateAddr, ingestAddr} {
		for name := range scrape(ctx, t, "http://"+addr+"/metrics") {
			exported[name] = true
		}
	}

	used, err := MetricsUsedIn(root)
	if err != nil {
		t.Fatal(err)
	}
	catalogue, err := Catalogue(root)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for name := range used {
		if !exported[name] {
			missing = append(missing, name+" (used by a rule or dashboard)")
		}
	}
	for name := range catalogue {
		if !exported[name] && !used[name] {
			missing = append(missing, name+" (in docs/metrics.md)")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("not exported by the running services:\n  %s", strings.Join(missing, "\n  "))
	}
}

// scrape waits until url answers, then returns the metric family names
// it exports.
func scrape(ctx context.Context, t *testing.T, url string) map[string]bool {
	t.Helper()
	body := stacktest.WaitHTTP(ctx, t, url)
	names := map[string]bool{}
	for name := range stacktest.ParseMetrics(t, string(body)) {
		names[name] = true
	}
	return names
}
