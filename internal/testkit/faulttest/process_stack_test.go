package faulttest

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/aggregator"
	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/testkit/stacktest"
)

// TestIngestKilledWhilePublishingThenRerun kills `ingest file` with SIGKILL
// while it is publishing a large file, runs it again on the same file, and
// checks that aggregate counts every post exactly once: the posts of the
// first run are published again under the same ids and count once.
func TestIngestKilledWhilePublishingThenRerun(t *testing.T) {
	e := newEnv(t, 6)
	posts := stacktest.GenPosts("kill", 100000, time.Now(), 60, 1)
	path := stacktest.WriteJSONL(t, t.TempDir(), "posts.jsonl", posts)

	// One message per produce request keeps the first run publishing for
	// seconds (at full speed it publishes 100,000 posts in well under one,
	// before it could be killed); the rerun has the default settings.
	slow := []string{"file", path, "--kafka-batch-size", "1", "--publish-in-flight", "1"}
	first := stacktest.Start(t, "ingest file (killed)", ingestBin(t), nil, append(slow, e.kafkaArgs()...)...)
	stacktest.WaitFor(t, 60*time.Second, "the first posts in Kafka", func() bool {
		if first.Exited() {
			t.Fatalf("ingest file ended before it could be killed: %v\n%s", first.Err(), first.Stderr())
		}
		return topicMessages(t, e.kafka) > 0
	})
	first.Signal(t, syscall.SIGKILL)
	_ = first.Wait(t, 10*time.Second)
	written := topicMessages(t, e.kafka)
	if written >= int64(len(posts)) {
		t.Fatalf("ingest published all %d posts before it was killed; the test proves nothing", written)
	}
	t.Logf("killed after %d of %d posts", written, len(posts))

	second := stacktest.Run(t, "ingest file (rerun)", ingestBin(t), nil, append([]string{"file", path}, e.kafkaArgs()...)...)
	if want := fmt.Sprintf("%d posts read, %d published", len(posts), len(posts)); !strings.Contains(second.Stdout(), want) {
		t.Errorf("rerun summary %q, want it to say %q", second.Stdout(), want)
	}
	stacktest.Run(t, "aggregate run --until-caught-up", aggregateBin(t), nil, e.aggregateArgs("--until-caught-up")...)
	assertTotals(t, e.conn, posts)
}

// TestForeignProducerMessagesGoToDLQ puts messages another producer wrote
// on the posts topic beside real posts: each lands in the dead-letter topic
// with its reason, and every real post is counted exactly.
func TestForeignProducerMessagesGoToDLQ(t *testing.T) {
	e := newEnv(t, 3)
	posts := stacktest.GenPosts("real", 3000, time.Now(), 80, 2)
	foreign := []struct {
		value  string
		reason string
	}{
		{"plain text from a log shipper", "invalid_json"},
		{"\x00\x00\x00\x00\x02\x0cavro\xfe\xff", "invalid_utf8"},
		{`{"event":"page_view","user":42,"ts":1730000000}`, "missing_field"},
		{`{"id":"order-7","text":"paid","created_at":"2025-11-05T09:00:00Z","hashtags":"none"}`, "wrong_type"},
		{`{"id":"order-8","text":"paid","created_at":"last tuesday"}`, "invalid_value"},
		{`[{"id":"a","text":"#otan"}]`, "invalid_json"},
		{`{"id":"a","text":"#otan","created_at":"2025-11-05T09:00:00Z"`, "invalid_json"},
	}
	half := len(posts) / 2
	stacktest.Run(t, "ingest file (first half)", ingestBin(t), nil, append([]string{"file", stacktest.WriteJSONL(t, t.TempDir(), "a.jsonl", posts[:half])}, e.kafkaArgs()...)...)
	var raw []kafka.Message
	for i, f := range foreign {
		raw = append(raw, kafka.Message{Key: []byte(fmt.Sprintf("foreign-%d", i)), Value: []byte(f.value)})
	}
	stacktest.Produce(t, e.kafka, e.kafka.Topic, raw...)
	stacktest.Run(t, "ingest file (second half)", ingestBin(t), nil, append([]string{"file", stacktest.WriteJSONL(t, t.TempDir(), "b.jsonl", posts[half:])}, e.kafkaArgs()...)...)

	stacktest.Run(t, "aggregate run --until-caught-up", aggregateBin(t), nil, e.aggregateArgs("--until-caught-up")...)
	assertTotals(t, e.conn, posts)

	dlq := consumeAll(t, e.kafka, e.kafka.DLQTopic(), len(foreign))
	got := map[string]string{}
	for _, m := range dlq {
		for _, h := range m.Headers {
			if h.Key == aggregator.HeaderReason {
				got[string(m.Value)] = string(h.Value)
			}
		}
	}
	for _, f := range foreign {
		if got[f.value] != f.reason {
			t.Errorf("foreign message %q: dead-letter reason %q, want %q", f.value, got[f.value], f.reason)
		}
	}
	if len(dlq) != len(foreign) {
		t.Errorf("dead-letter topic holds %d messages, want %d", len(dlq), len(foreign))
	}
}

// consumeAll reads a topic from the start until it has at least want
// messages and a second passes without more.
func consumeAll(t *testing.T, k *kafkaclient.Config, topic string, want int) []kafka.Message {
	t.Helper()
	var out []kafka.Message
	for p := 0; p < k.Partitions; p++ {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: k.Brokers, Topic: topic, Partition: p, MaxWait: 200 * time.Millisecond})
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			m, err := r.ReadMessage(ctx)
			cancel()
			if err != nil {
				break
			}
			out = append(out, m)
		}
		r.Close()
	}
	if len(out) < want {
		t.Fatalf("%s holds %d messages, want at least %d", topic, len(out), want)
	}
	return out
}

// TestReplicasKilledAndAdded runs three aggregate replicas in one group,
// kills one with SIGKILL while they consume, adds a fourth, publishes more,
// and checks the exact counts: the killed replica's uncommitted batches are
// read again by the others and count once.
func TestReplicasKilledAndAdded(t *testing.T) {
	e := newEnv(t, 6)
	first := stacktest.GenPosts("r1", 40000, time.Now(), 60, 3)
	second := stacktest.GenPosts("r2", 20000, time.Now(), 60, 4)
	// Small batches keep the replicas busy long enough to be interrupted.
	args := e.aggregateArgs("--batch-rows", "300", "--flush-interval", "100ms")
	var replicas []*stacktest.Proc
	var addrs []string
	for i := range 3 {
		p := stacktest.Start(t, fmt.Sprintf("aggregate replica %d", i+1), aggregateBin(t), nil, args...)
		replicas = append(replicas, p)
		addrs = append(addrs, p.HTTPAddr(t))
	}
	for i, addr := range addrs {
		stacktest.WaitFor(t, 60*time.Second, fmt.Sprintf("replica %d ready", i+1), func() bool { return readyz(addr) == 200 })
	}
	stacktest.Run(t, "ingest file (first)", ingestBin(t), nil, append([]string{"file", stacktest.WriteJSONL(t, t.TempDir(), "first.jsonl", first)}, e.kafkaArgs()...)...)

	consumed := func(i int) float64 { return metricSum(t, addrs[i], "tagpulse_aggregate_messages_consumed_total") }
	stacktest.WaitFor(t, 90*time.Second, "the victim replica to consume", func() bool { return consumed(2) > 0 })
	before := consumed(0) + consumed(1) + consumed(2)
	replicas[2].Signal(t, syscall.SIGKILL)
	_ = replicas[2].Wait(t, 10*time.Second)
	if before >= float64(len(first)) {
		t.Logf("the replicas had consumed everything (%v) before the kill; only the rebalance is tested", before)
	}

	added := stacktest.Start(t, "aggregate replica 4", aggregateBin(t), nil, args...)
	replicas = append(replicas, added)
	addrs = append(addrs, added.HTTPAddr(t))
	stacktest.Run(t, "ingest file (second)", ingestBin(t), nil, append([]string{"file", stacktest.WriteJSONL(t, t.TempDir(), "second.jsonl", second)}, e.kafkaArgs()...)...)

	// The killed member's partitions move once its session times out.
	waitTotals(t, e.conn, 3*time.Minute, first, second)
	for _, i := range []int{0, 1, 3} {
		if replicas[i].Exited() {
			t.Errorf("%s exited: %v", replicas[i].Name, replicas[i].Err())
		}
	}
	if consumed(3) == 0 {
		t.Errorf("the added replica consumed nothing; it never got partitions")
	}
	for _, i := range []int{0, 1, 3} {
		replicas[i].Stop(t)
	}
	assertTotals(t, e.conn, first, second)
}
