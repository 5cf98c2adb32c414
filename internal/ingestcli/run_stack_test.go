package ingestcli

import (
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/publish/publishtest"
	"tagpulse/internal/source"
	"tagpulse/internal/testkit/stacktest"
)

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// A second `run --once` with the same state directory publishes nothing.
func TestRunOnceTwice(t *testing.T) {
	kc := stacktest.Kafka(t, 2)
	state := t.TempDir()
	args := append([]string{"run", "--once", "--source", "file=testdata/posts", "--state-dir", state, "--metrics-addr", ""}, kafkaArgs(kc)...)
	for i := range 2 {
		if _, err := execute(context.Background(), t, args...); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	if n := len(publishtest.ReadAll(t, kc)); n != 3 {
		t.Errorf("%d messages after two --once runs, want 3", n)
	}
}

func TestRunFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no sources", []string{"run"}, nil, "nothing to do"},
		{"bad source", []string{"run", "--source", "rss=file:///etc/passwd"}, nil, "scheme"},
		{"bad bluesky URL", []string{"run", "--source", "bluesky=ftp://jetstream.example/subscribe"}, nil, "scheme"},
		{"unknown kind", []string{"run", "--source", "twitter=https://x.example"}, nil, "mastodon-stream or bluesky"},
		{"webhook without token", []string{"run", "--webhook-addr", "127.0.0.1:0"}, map[string]string{"INGEST_WEBHOOK_TOKEN": ""}, "INGEST_WEBHOOK_TOKEN"},
		{"once with webhook", []string{"run", "--once", "--webhook-addr", "127.0.0.1:0", "--source", "file=x"}, nil, "--once"},
		{"exclusion not a domain", []string{"run", "--once", "--source", "file=testdata/posts", "--exclude-instance", "https://spam.example/"}, nil, "want a domain"},
		{"exclusion file missing", []string{"file", "testdata/posts", "--exclude-file", "testdata/none.txt"}, nil, "reading exclusion file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := execute(context.Background(), t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// The daemon serves /healthz, /metrics with every ingest metric, and the
// webhook, and returns cleanly when its context ends.
func TestRunDaemon(t *testing.T) {
	kc := stacktest.Kafka(t, 2)
	t.Setenv("INGEST_WEBHOOK_TOKEN", "daemon-token")
	metricsAddr, webhookAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		args := append([]string{"run", "--source", "file=testdata/posts", "--state-dir", t.TempDir(),
			"--metrics-addr", metricsAddr, "--webhook-addr", webhookAddr}, kafkaArgs(kc)...)
		_, err := execute(ctx, t, args...)
		done <- err
	}()
	get := func(url string) (int, string) {
		for deadline := time.Now().Add(20 * time.Second); ; {
			resp, err := http.Get(url)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, string(b)
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %v", url, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if code, _ := get("http://" + metricsAddr + "/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+webhookAddr+source.WebhookPath, strings.NewReader(`{"id":"daemon-1","text":"#pushed"}`))
	req.Header.Set("Authorization", "Bearer daemon-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("webhook: %d, want 202", resp.StatusCode)
	}
	_, body := get("http://" + metricsAddr + "/metrics")
	metrics := stacktest.ParseMetrics(t, body)
	for _, name := range []string{
		"tagpulse_ingest_posts_fetched_total", "tagpulse_ingest_posts_published_total",
		"tagpulse_ingest_posts_duplicate_total", "tagpulse_ingest_posts_rejected_total",
		"tagpulse_ingest_fetch_errors_total", "tagpulse_ingest_fetch_duration_seconds",
		"tagpulse_ingest_publish_latency_seconds", "tagpulse_ingest_hashtags_extracted_total",
		"tagpulse_ingest_last_success_timestamp_seconds", "tagpulse_ingest_kafka_write_errors_total",
		"tagpulse_ingest_webhook_requests_total", "tagpulse_ingest_source_up",
		"tagpulse_ingest_source_events_skipped_total",
	} {
		if metrics[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if stacktest.SampleSum(metrics["tagpulse_ingest_webhook_requests_total"], "code", "202") != 1 {
		t.Error(`/metrics: want tagpulse_ingest_webhook_requests_total{code="202"} 1`)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop after its context ended")
	}
	found := false
	for _, m := range publishtest.ReadAll(t, kc) {
		found = found || m.Key == "daemon-1"
	}
	if !found {
		t.Error("webhook post daemon-1 not in the topic")
	}
}

// A Mastodon timeline's HTML becomes text whose hashtags reach Kafka.
func TestRunOnceMastodon(t *testing.T) {
	kc := stacktest.Kafka(t, 2)
	body, err := os.ReadFile("testdata/timeline.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("min_id") != "" {
			_, _ = w.Write([]byte("[]"))
			return
		}
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	args := append([]string{"run", "--once", "--source", "mastodon=" + srv.URL + "/api/v1/timelines/tag/otan", "--state-dir", t.TempDir(), "--metrics-addr", ""}, kafkaArgs(kc)...)
	if _, err := execute(context.Background(), t, args...); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range publishtest.ReadAll(t, kc) {
		var tags []string
		for _, h := range m.Value.Hashtags {
			tags = append(tags, h.Tag)
		}
		got[m.Key] = m.Value.Author + " " + strings.Join(tags, ",")
	}
	want := map[string]string{
		"mastodon:https://social.example/users/ann/statuses/2": "ann@social.example rearmement,otan",
		"mastodon:https://social.example/users/bob/statuses/1": "bob@social.example nato",
	}
	if !maps.Equal(got, want) {
		t.Errorf("published\n got %v\nwant %v", got, want)
	}
}

// TestSourceNames: the first source of a kind is named by its kind, the
// next ones KIND-n, in metrics and in the posts they publish alike.
func TestSourceNames(t *testing.T) {
	for _, tt := range []struct {
		kind string
		n    int
		want string
	}{{"file", 1, "file"}, {"rss", 1, "rss"}, {"rss", 2, "rss-2"}, {"mastodon", 3, "mastodon-3"}} {
		if got := sourceName(tt.kind, tt.n); got != tt.want {
			t.Errorf("sourceName(%q, %d) = %q, want %q", tt.kind, tt.n, got, tt.want)
		}
	}
}
