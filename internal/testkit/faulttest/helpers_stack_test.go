package faulttest

import (
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chstore"
	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/post"
	"tagpulse/internal/testkit/stacktest"
)

// env is one test's piece of the real stack: its own topic (and dead-letter
// topic), its own migrated database, and a consumer group name.
type env struct {
	kafka *kafkaclient.Config
	store chstore.Config
	conn  driver.Conn
	group string
}

func newEnv(t *testing.T, partitions int) env {
	t.Helper()
	k := stacktest.Kafka(t, partitions)
	store, conn := stacktest.MigratedClickHouse(t)
	return env{kafka: k, store: store, conn: conn, group: k.Topic + "-group"}
}

// kafkaArgs are the flags both binaries need to reach the test's topic.
func (e env) kafkaArgs() []string {
	return []string{"--kafka-brokers", strings.Join(e.kafka.Brokers, ","), "--kafka-topic", e.kafka.Topic, "--log-format", "json"}
}

// aggregateArgs runs `aggregate run` on the test's topic, group and
// database, flushing and checking readiness quickly.
func (e env) aggregateArgs(extra ...string) []string {
	args := append([]string{"run"}, e.kafkaArgs()...)
	args = append(args,
		"--kafka-group", e.group,
		"--clickhouse-dsn", e.store.DSN,
		"--http-addr", "127.0.0.1:0",
		"--batch-rows", "2000",
		"--flush-interval", "200ms",
		"--lag-interval", "500ms",
		"--insert-timeout", "5s",
		"--retry-max", "2s",
		"--retention", "0",
	)
	return append(args, extra...)
}

func assertTotals(t *testing.T, conn driver.Conn, lists ...[]post.Message) {
	t.Helper()
	if got, want := stacktest.TagTotals(t, conn), stacktest.WantTotals(lists...); !reflect.DeepEqual(got, want) {
		t.Fatalf("per-tag counts in ClickHouse:\n got  %v\n want %v", sorted(got), sorted(want))
	}
}

// waitTotals waits until ClickHouse holds exactly the counts of the posts;
// counts only ever grow towards them, so "equal" is final.
func waitTotals(t *testing.T, conn driver.Conn, timeout time.Duration, lists ...[]post.Message) {
	t.Helper()
	want := stacktest.WantTotals(lists...)
	var got map[string]uint64
	stacktest.WaitFor(t, timeout, "exact counts in ClickHouse", func() bool {
		got = stacktest.TagTotals(t, conn)
		return reflect.DeepEqual(got, want)
	}, func() string { return fmt.Sprintf("got %v, want %v", sorted(got), sorted(want)) })
}

func sorted(m map[string]uint64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// topicMessages sums the end offsets of the test topic's partitions: how
// many messages were ever written to it.
func topicMessages(t *testing.T, k *kafkaclient.Config) int64 {
	t.Helper()
	var n int64
	for _, o := range stacktest.TopicOffsets(t, k, k.Topic) {
		n += o.End
	}
	return n
}

// httpGet returns the status and body of GET url.
func httpGet(url string) (int, string, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// metricSum scrapes addr/metrics and sums the samples of the named metric
// (every label combination).
func metricSum(t *testing.T, addr, name string) float64 {
	t.Helper()
	code, body, err := httpGet("http://" + addr + "/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("scraping %s/metrics: %d %v", addr, code, err)
	}
	return stacktest.SampleSum(stacktest.ParseMetrics(t, body)[name])
}

// readyz returns the status of GET /readyz, or 0 when it does not answer.
func readyz(addr string) int {
	code, _, err := httpGet("http://" + addr + "/readyz")
	if err != nil {
		return 0
	}
	return code
}
