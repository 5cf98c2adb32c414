// Package stacktest gives integration tests their own piece of the real
// local stack (scripts/stack up): a fresh Kafka topic and a fresh ClickHouse
// database per test, created at the start and dropped at cleanup, so tests
// are independent and can run in parallel.
//
// When a service is not reachable the test fails with a message that says
// to run scripts/stack up. It never passes silently. A developer who wants
// only the unit tests sets TAGPULSE_SKIP_INTEGRATION=1, which skips with a
// message saying so; CI never sets it.
//
// It is also the one set of helpers of the harness (internal/testkit), used
// by every test and benchmark: building the binaries (Build, Binaries),
// starting and stopping processes (Start, Run, Proc), waiting (WaitFor,
// WaitHTTP), generated posts and the counts they must give (GenPosts,
// WantTotals, WriteJSONL), the one count reader (TagTotals, ReadTagTotals),
// Kafka offsets (KafkaClient, TopicOffsets), /metrics parsing, headless
// Chromium, and the fault tests' hold on scripts/stack (FaultStack). A test
// file that uses the stack is named *_stack_test.go (docs/design.md).
package stacktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/segmentio/kafka-go"

	"tagpulse/internal/chstore"
	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/retry"
)

const hint = "run scripts/stack up (or make test, which does)"

// Addresses of the local stack; the environment may point elsewhere.
// scripts/test sets TAGPULSE_TEST_CLICKHOUSE_ADDR to 127.0.0.1:9001 for its
// second pass, against the clickhouse26 service (ClickHouse 26.9), and
// TAGPULSE_TEST_CLICKHOUSE_SERVICE to clickhouse26.
var (
	KafkaBrokers   = env("TAGPULSE_TEST_KAFKA_BROKERS", "127.0.0.1:9092")
	ClickHouseAddr = env("TAGPULSE_TEST_CLICKHOUSE_ADDR", "127.0.0.1:9000")
	// ClickHouseService is the scripts/stack service serving ClickHouseAddr,
	// which the fault tests freeze and kill.
	ClickHouseService = env("TAGPULSE_TEST_CLICKHOUSE_SERVICE", "clickhouse")
	PrometheusURL     = env("TAGPULSE_TEST_PROMETHEUS_URL", "http://127.0.0.1:9090")
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Require marks t as an integration test: it skips only when the developer
// asked for that explicitly with TAGPULSE_SKIP_INTEGRATION=1.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv("TAGPULSE_SKIP_INTEGRATION") == "1" {
		t.Skip("integration test skipped: TAGPULSE_SKIP_INTEGRATION=1")
	}
}

// UniqueName returns prefix followed by a random suffix that is safe in
// topic and database names.
func UniqueName(prefix string) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + "_" + hex.EncodeToString(b)
}

// Kafka returns a Kafka config for a new topic (and its dead-letter topic)
// with the given number of partitions, both deleted when the test ends.
func Kafka(t testing.TB, partitions int) *kafkaclient.Config {
	t.Helper()
	Require(t)
	return kafkaOn(t, KafkaBrokers, partitions, hint)
}

// kafkaOn is Kafka on the brokers of a comma-separated list; hint says how
// to start them.
func kafkaOn(t testing.TB, brokers string, partitions int, hint string) *kafkaclient.Config {
	t.Helper()
	cfg := &kafkaclient.Config{
		Brokers:    strings.Split(brokers, ","),
		Topic:      UniqueName("test_" + sanitize(t.Name())),
		Partitions: partitions,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cfg.Ping(ctx); err != nil {
		t.Fatalf("Kafka is not reachable at %s: %v; %s", brokers, err, hint)
	}
	if err := cfg.EnsureTopics(ctx, cfg.Topic, cfg.DLQTopic()); err != nil {
		t.Fatalf("creating test topics: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		client, err := cfg.Client()
		if err != nil {
			t.Logf("deleting test topics: %v", err)
			return
		}
		if _, err := client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{cfg.Topic, cfg.DLQTopic()}}); err != nil {
			t.Logf("deleting test topics: %v", err)
		}
	})
	return cfg
}

// ClickHouse returns a config whose DSN names a new, empty database, and a
// connection to it; the database is dropped when the test ends. Call
// chstore.Migrate on the config to create the schema.
func ClickHouse(t testing.TB) (chstore.Config, driver.Conn) {
	t.Helper()
	Require(t)
	db := UniqueName("test")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := clickhouse.Open(&clickhouse.Options{Addr: []string{ClickHouseAddr}, Auth: clickhouse.Auth{Database: "default", Username: "default"}})
	if err == nil {
		err = admin.Ping(ctx)
	}
	if err != nil {
		t.Fatalf("ClickHouse is not reachable at %s: %v; %s", ClickHouseAddr, err, hint)
	}
	// scripts/test runs the ClickHouse tests once per server: the version
	// in the log says which one a failure came from.
	v, err := admin.ServerVersion()
	if err != nil {
		t.Fatalf("reading the version of ClickHouse at %s: %v", ClickHouseAddr, err)
	}
	t.Logf("clickhouse server %s at %s", v.Version, ClickHouseAddr)
	if err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		t.Fatalf("creating test database %s: %v", db, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
			t.Logf("dropping test database %s: %v", db, err)
		}
		admin.Close()
	})
	cfg := chstore.Config{DSN: fmt.Sprintf("clickhouse://default:@%s/%s", ClickHouseAddr, db)}
	conn, err := chstore.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("connecting to test database: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return cfg, conn
}

// Prometheus checks that the local Prometheus answers and returns its URL.
func Prometheus(t testing.TB) string {
	t.Helper()
	Require(t)
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(PrometheusURL + "/-/ready")
	if err != nil {
		t.Fatalf("Prometheus is not reachable at %s: %v; %s", PrometheusURL, err, hint)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Prometheus at %s is not ready (HTTP %d); %s", PrometheusURL, resp.StatusCode, hint)
	}
	return PrometheusURL
}

func sanitize(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}

// RepoRoot returns the root of the checkout: the folder holding the go.mod
// of module tagpulse. A nested module's go.mod (internal/testkit/deploycheck has
// one) is passed over, so its tests find the same root.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modfileNames(data, "tagpulse") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod of module tagpulse above the test's folder")
		}
		dir = parent
	}
}

// modfileNames reports whether the go.mod text data declares module name.
func modfileNames(data []byte, name string) bool {
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return f[1] == name
		}
	}
	return false
}

// Produce writes msgs to topic as any producer would, retrying while a
// topic created a moment ago is not yet known to every part of the broker.
func Produce(t testing.TB, k *kafkaclient.Config, topic string, msgs ...kafka.Message) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(k.Brokers...), Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, BatchSize: 500, BatchTimeout: 10 * time.Millisecond}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := retry.Policy{
		Backoff:   retry.Backoff{Min: 100 * time.Millisecond, Max: time.Second},
		Retryable: func(err error) bool { return errors.Is(err, kafka.UnknownTopicOrPartition) },
	}
	if err := p.Do(ctx, func(ctx context.Context) error { return w.WriteMessages(ctx, msgs...) }); err != nil {
		t.Fatalf("producing %d test messages to %s: %v", len(msgs), topic, err)
	}
}

// MigratedClickHouse is ClickHouse with tagpulse's schema already created
// in the new database.
func MigratedClickHouse(t testing.TB) (chstore.Config, driver.Conn) {
	t.Helper()
	store, conn := ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := chstore.Migrate(ctx, store); err != nil {
		t.Fatalf("migrating test database: %v", err)
	}
	return store, conn
}

// RequireFault marks a test that stops or freezes a shared service of the
// stack. It runs only with TAGPULSE_FAULT_TESTS=1, and its name must start
// with TestFault: scripts/test runs those alone, one at a time, after every
// other test, so no other test sees the outage.
func RequireFault(t testing.TB) {
	t.Helper()
	Require(t)
	if !strings.HasPrefix(t.Name(), "TestFault") {
		t.Fatalf("%s disrupts the shared stack: its name must start with TestFault so that scripts/test runs it alone", t.Name())
	}
	if os.Getenv("TAGPULSE_FAULT_TESTS") != "1" {
		t.Skip("disrupts the shared stack; set TAGPULSE_FAULT_TESTS=1 to run (scripts/test runs it alone)")
	}
}

// KafkaClient opens an admin client of k's brokers (each request gives up
// after 15 s) for a test's metadata and offset queries.
func KafkaClient(t testing.TB, k *kafkaclient.Config) *kafka.Client {
	t.Helper()
	client, err := k.Client()
	if err != nil {
		t.Fatalf("opening a Kafka client: %v", err)
	}
	return client
}

// TopicOffsets returns the partitions of topic with their first and end
// offsets, read within 30 s.
func TopicOffsets(t testing.TB, k *kafkaclient.Config, topic string) map[int]kafkaclient.PartitionOffsets {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := KafkaClient(t, k)
	parts, err := kafkaclient.Partitions(ctx, client, topic)
	if err != nil {
		t.Fatalf("reading the partitions of %s: %v", topic, err)
	}
	logs, err := kafkaclient.LogOffsets(ctx, client, topic, parts)
	if err != nil {
		t.Fatalf("reading the offsets of %s: %v", topic, err)
	}
	return logs
}
