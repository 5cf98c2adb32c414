package deploycheck

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"tagpulse/internal/chstore"
	"tagpulse/internal/stacktest"
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
	bin := buildBinaries(ctx, t, root)

	posts := t.TempDir()
	if err := os.WriteFile(filepath.Join(posts, "a.jsonl"), []byte(`{"id":"m1","text":"#OTAN #Drones"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	aggregateAddr, ingestAddr, webhookAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	env := append(os.Environ(), "KAFKA_BROKERS="+strings.Join(kafka.Brokers, ","), "KAFKA_TOPIC="+kafka.Topic,
		"INGEST_WEBHOOK_TOKEN=metrics-test-token")
	start(t, env, filepath.Join(bin, "aggregate"), "run", "--http-addr", aggregateAddr,
		"--clickhouse-dsn", store.DSN, "--kafka-group", stacktest.UniqueName("metrics"), "--retention", "0")
	start(t, env, filepath.Join(bin, "ingest"), "run", "--metrics-addr", ingestAddr, "--webhook-addr", webhookAddr,
		"--source", "file="+posts, "--source", "rss=http://127.0.0.1:1/feed.xml", "--state-dir", t.TempDir())

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

func buildBinaries(ctx context.Context, t *testing.T, root string) string {
	t.Helper()
	bin := t.TempDir()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin+string(filepath.Separator), "./cmd/ingest", "./cmd/aggregate")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// start runs a daemon until the test ends, then stops it with SIGTERM.
func start(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	logs, err := os.Create(filepath.Join(t.TempDir(), filepath.Base(name)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logs.Name())
			t.Logf("%s output:\n%s", filepath.Base(name), b)
		}
		logs.Close()
	})
}

// scrape polls url until it answers, then returns the metric family names
// it exports.
func scrape(ctx context.Context, t *testing.T, url string) map[string]bool {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	var lastErr error
	for ctx.Err() == nil {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				parser := expfmt.NewTextParser(model.UTF8Validation)
				families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
				if err != nil {
					t.Fatalf("parsing %s: %v", url, err)
				}
				names := map[string]bool{}
				for name := range families {
					names[name] = true
				}
				return names
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		lastErr = err
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("scraping %s: %v", url, lastErr)
	return nil
}
