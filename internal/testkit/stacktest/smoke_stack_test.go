package stacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/segmentio/kafka-go"
)

// TestKafkaProduceConsumeInGroup proves the broker takes writes and serves
// a consumer group (which Kafka 4.0.0 would refuse to kafka-go).
func TestKafkaProduceConsumeInGroup(t *testing.T) {
	t.Parallel()
	cfg := Kafka(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	tr, err := cfg.Transport()
	if err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(cfg.Brokers...), Topic: cfg.Topic, Transport: tr, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll}
	const n = 50
	want := map[string]string{}
	var msgs []kafka.Message
	for i := 0; i < n; i++ {
		k, v := fmt.Sprintf("key-%d", i), fmt.Sprintf("value-%d", i)
		want[k] = v
		msgs = append(msgs, kafka.Message{Key: []byte(k), Value: []byte(v)})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("producing: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	dialer, err := cfg.Dialer()
	if err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: cfg.Brokers, Topic: cfg.Topic, GroupID: UniqueName("smoke"), Dialer: dialer,
		StartOffset: kafka.FirstOffset, MaxWait: 200 * time.Millisecond,
	})
	defer r.Close()
	got := map[string]string{}
	for len(got) < n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("consuming after %d of %d messages: %v", len(got), n, err)
		}
		got[string(m.Key)] = string(m.Value)
		if err := r.CommitMessages(ctx, m); err != nil {
			t.Fatalf("committing in the group: %v", err)
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("key %s: got %q, want %q", k, got[k], v)
		}
	}
}

// TestClickHouseBatchInsertSelect proves batch inserts with an explicit
// column list and reads them back.
func TestClickHouseBatchInsertSelect(t *testing.T) {
	t.Parallel()
	_, conn := ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := conn.Exec(ctx, `CREATE TABLE smoke (id UInt32, tag String, at DateTime) ENGINE = MergeTree() ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO smoke (id, tag, at)")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 11, 5, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 1000; i++ {
		if err := batch.Append(uint32(i), fmt.Sprintf("tag%d", i%7), at); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatalf("sending batch: %v", err)
	}
	var rows, tags uint64
	if err := conn.QueryRow(ctx, "SELECT count(), uniqExact(tag) FROM smoke WHERE at = ?", at).Scan(&rows, &tags); err != nil {
		t.Fatal(err)
	}
	if rows != 1000 || tags != 7 {
		t.Fatalf("got %d rows and %d tags, want 1000 and 7", rows, tags)
	}
}

// TestPrometheusScrapesATestTarget serves a metric, registers the server
// as a file_sd target of the local Prometheus and waits until a query
// through the HTTP API returns the value.
func TestPrometheusScrapesATestTarget(t *testing.T) {
	t.Parallel()
	promURL := Prometheus(t)
	sdDir := filepath.Join(RepoRoot(t), ".stack", "prometheus", "file_sd")
	if _, err := os.Stat(sdDir); err != nil {
		t.Fatalf("Prometheus file_sd folder %s is missing: %v; run scripts/stack up", sdDir, err)
	}

	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "tagpulse_smoke_value", Help: "Smoke-test value."})
	reg.MustRegister(g)
	want := float64(time.Now().UnixNano() % 1_000_000)
	g.Set(want)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	instance := ln.Addr().String()
	target := filepath.Join(sdDir, UniqueName("smoke")+".json")
	body, _ := json.Marshal([]map[string]any{{"targets": []string{instance}, "labels": map[string]string{"job": "tagpulse-test"}}})
	if err := os.WriteFile(target+".tmp", body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(target+".tmp", target); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(target) })

	query := fmt.Sprintf(`tagpulse_smoke_value{instance=%q}`, instance)
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := client.Get(promURL + "/api/v1/query?query=" + url.QueryEscape(query))
		if err == nil {
			var out struct {
				Data struct {
					Result []struct {
						Value [2]any `json:"value"`
					} `json:"result"`
				} `json:"data"`
			}
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if err == nil && len(out.Data.Result) == 1 && out.Data.Result[0].Value[1] == fmt.Sprint(want) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not return %s = %v within 60s (last error: %v)", query, want, err)
		}
		time.Sleep(time.Second)
	}
}
