package publish

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"

	"tagpulse/internal/post"
	"tagpulse/internal/testkit/stacktest"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		ok     bool
	}{
		{"defaults", func(*Config) {}, true},
		{"zstd", func(c *Config) { c.Compression = "ZSTD" }, true},
		{"unknown compression", func(c *Config) { c.Compression = "brotli" }, false},
		{"zero batch size", func(c *Config) { c.BatchSize = 0 }, false},
		{"tiny batch bytes", func(c *Config) { c.BatchBytes = 10 }, false},
		{"no batch timeout", func(c *Config) { c.BatchTimeout = 0 }, false},
		{"no attempts", func(c *Config) { c.MaxAttempts = 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func messages(ids ...string) []post.Message {
	var out []post.Message
	for _, id := range ids {
		out = append(out, post.Message{Post: post.Post{ID: id, Text: "#t", CreatedAt: time.Now().UTC()}, Hashtags: []post.Hashtag{{Tag: "t", Display: "t"}}, ExtractorVersion: 1})
	}
	return out
}

func TestPublishMetrics(t *testing.T) {
	kc := stacktest.Kafka(t, 2)
	reg := prometheus.NewPedanticRegistry()
	p, err := New(DefaultConfig(), kc, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	n, err := p.Publish(context.Background(), messages("a", "b", "c"))
	if err != nil || n != 3 {
		t.Fatalf("Publish = %d, %v; want 3, nil", n, err)
	}
	if got := testutil.CollectAndCount(p.m.latency); got != 1 {
		t.Errorf("latency series %d, want 1", got)
	}
	if got := testutil.ToFloat64(p.m.writeErrors); got != 0 {
		t.Errorf("write errors %v, want 0", got)
	}
	// Ingest asks for acks=all, which Kafka numbers -1.
	if got := testutil.ToFloat64(p.m.requiredAcks); got != -1 {
		t.Errorf("tagpulse_ingest_kafka_required_acks = %v, want -1 (all in-sync replicas)", got)
	}
	if p.w.RequiredAcks != kafka.RequireAll {
		t.Errorf("writer RequiredAcks = %v, want RequireAll", p.w.RequiredAcks)
	}

	// A topic that does not exist (and is not auto-created) fails every
	// message, and each counts as a write error.
	missing := *kc
	missing.Topic = stacktest.UniqueName("missing")
	cfg := DefaultConfig()
	cfg.MaxAttempts = 1
	bad, err := New(cfg, &missing, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err = bad.Publish(ctx, messages("x", "y"))
	if err == nil || n != 0 {
		t.Fatalf("Publish to a missing topic = %d, %v; want 0 and an error", n, err)
	}
	if got := testutil.ToFloat64(bad.m.writeErrors); got != 2 {
		t.Errorf("write errors %v, want 2", got)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) != 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
