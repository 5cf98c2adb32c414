package aggregator

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"

	"tagpulse/internal/chstore"
	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/testkit/stacktest"
)

func TestFirstPassAndRepublish(t *testing.T) {
	s := newStack(t, 6)
	// Texts longer than the excerpt the posts table keeps.
	posts := stacktest.GenPosts("p", 3000, time.Now(), 400, 1)
	publish(t, s.kafka, posts)

	m := runCaughtUp(t, s, testConfig(s.kafka.Topic+"-group"))
	assertCounts(t, s.conn, posts)
	assertPosts(t, s.conn, posts)
	if got := testutil.ToFloat64(m.MessagesConsumed); got != 3000 {
		t.Errorf("messages consumed: got %v, want 3000", got)
	}

	// The same posts again, as a second `ingest file` of the same files
	// publishes them: every count stays as it was.
	publish(t, s.kafka, posts)
	m = runCaughtUp(t, s, testConfig(s.kafka.Topic+"-group"))
	if got := testutil.ToFloat64(m.MessagesConsumed); got != 3000 {
		t.Errorf("messages consumed on the second pass: got %v, want 3000 (only the new copies)", got)
	}
	assertCounts(t, s.conn, posts)
	assertPosts(t, s.conn, posts)
}

func TestReplayRange(t *testing.T) {
	s := newStack(t, 6)
	t0 := time.Now()
	first := stacktest.GenPosts("a", 1000, t0, 0, 2)
	publish(t, s.kafka, first)
	time.Sleep(50 * time.Millisecond)
	t1 := time.Now()
	time.Sleep(50 * time.Millisecond)
	second := stacktest.GenPosts("b", 1000, t0, 0, 3)
	publish(t, s.kafka, second)
	time.Sleep(50 * time.Millisecond)
	t2 := time.Now()
	time.Sleep(50 * time.Millisecond)
	third := stacktest.GenPosts("c", 500, t0, 0, 4)
	publish(t, s.kafka, third)

	runCaughtUp(t, s, testConfig(s.kafka.Topic+"-group"))
	assertCounts(t, s.conn, first, second, third)

	replay := func(since, until time.Time) ReplayStats {
		t.Helper()
		c := New(Options{Config: testConfig("unused"), Kafka: s.kafka, Store: s.conn, Metrics: NewMetrics(prometheus.NewRegistry()), Log: testLogger(t)})
		var last int64
		stats, err := c.Replay(context.Background(), ReplayOptions{Since: since, Until: until, Progress: func(done, _ int64) { last = done }})
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		if last != stats.Messages {
			t.Errorf("last progress report: %d messages, want %d", last, stats.Messages)
		}
		return stats
	}

	// Replaying what is stored already changes no count.
	if st := replay(t0.Add(-time.Second), time.Now().Add(time.Second)); st.Messages != 2500 {
		t.Errorf("replay of everything read %d messages, want 2500", st.Messages)
	}
	assertCounts(t, s.conn, first, second, third)

	// With the tables emptied, a replay of the middle range restores
	// exactly the posts published in it.
	if _, err := chstore.DropPartitionsBefore(context.Background(), s.conn, time.Now().AddDate(1, 0, 0)); err != nil {
		t.Fatalf("emptying tables: %v", err)
	}
	if got := storedCounts(t, s.conn); len(got) != 0 {
		t.Fatalf("tables not empty after dropping every partition: %d buckets left", len(got))
	}
	// Retention drops the stored posts with their counts.
	assertPosts(t, s.conn, nil)
	if st := replay(t1, t2); st.Messages != 1000 {
		t.Errorf("replay of the middle range read %d messages, want 1000", st.Messages)
	}
	assertCounts(t, s.conn, second)
	assertPosts(t, s.conn, second)
}

func TestPoisonGoesToDLQ(t *testing.T) {
	s := newStack(t, 3)
	posts := stacktest.GenPosts("p", 500, time.Now(), 0, 5)
	poison := [][]byte{
		[]byte("not json at all"),
		[]byte(`{"id": 42, "text": "wrong type", "created_at": "2026-01-01T00:00:00Z"}`),
		[]byte(`{"text": "no id", "created_at": "2026-01-01T00:00:00Z"}`),
		[]byte("{\"id\": \"x\", \"text\": \"bad \xff utf8\", \"created_at\": \"2026-01-01T00:00:00Z\"}"),
		[]byte(`{"id": "no-date", "text": "no created_at"}`),
		[]byte(`{"id": "bad-date", "text": "t", "created_at": "yesterday"}`),
		[]byte(`{"id": "old", "text": "t", "created_at": "1901-01-01T00:00:00Z", "hashtags": [{"tag": "x", "display": "x"}]}`),
		[]byte(`[1, 2, 3]`),
	}
	publish(t, s.kafka, posts, poison...)

	m := runCaughtUp(t, s, testConfig(s.kafka.Topic+"-group"))
	assertCounts(t, s.conn, posts)

	dlq := readAll(t, s.kafka, s.kafka.DLQTopic())
	if len(dlq) != len(poison) {
		t.Fatalf("dead-letter topic holds %d messages, want %d", len(dlq), len(poison))
	}
	want := map[string]bool{}
	for _, p := range poison {
		want[string(p)] = true
	}
	for _, d := range dlq {
		if !want[string(d.Value)] {
			t.Errorf("dead-letter message %q is not one of the poison", d.Value)
		}
		delete(want, string(d.Value))
		if got := header(d, HeaderTopic); got != s.kafka.Topic {
			t.Errorf("header %s = %q, want %q", HeaderTopic, got, s.kafka.Topic)
		}
		if header(d, HeaderPartition) == "" || header(d, HeaderOffset) == "" || header(d, HeaderReason) == "" {
			t.Errorf("dead-letter message %q lacks a partition, offset or reason header: %v", d.Value, d.Headers)
		}
	}
	var counted float64
	for _, r := range dlqReasons {
		counted += testutil.ToFloat64(m.DLQMessages.WithLabelValues(r))
	}
	if counted != float64(len(poison)) {
		t.Errorf("dlq_messages_total sums to %v, want %d", counted, len(poison))
	}

	if got := testutil.ToFloat64(m.TopicRetention.WithLabelValues(s.kafka.DLQTopic())); got <= 0 {
		t.Errorf("tagpulse_aggregate_topic_retention_seconds{topic=%q} = %v, want the broker's retention", s.kafka.DLQTopic(), got)
	}
	testDLQReplay(t, s, posts, len(poison))
}

// readAll reads every message of a topic.
func readAll(t *testing.T, k *kafkaclient.Config, topic string) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logs := stacktest.TopicOffsets(t, k, topic)
	var out []kafka.Message
	for _, p := range slices.Sorted(maps.Keys(logs)) {
		o := logs[p]
		r := partitionRange{partition: p, from: o.First, to: o.End}
		if err := readRange(ctx, k, topic, r, 1<<20, Defaults().FetchMaxWait, func(m kafka.Message) error { out = append(out, m); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestThreeReplicasOneLeaves(t *testing.T) {
	s := newStack(t, 6)
	group := s.kafka.Topic + "-group"
	first := stacktest.GenPosts("a", 3000, time.Now(), 0, 7)
	second := stacktest.GenPosts("b", 3000, time.Now(), 0, 8)
	publish(t, s.kafka, first)

	type replica struct {
		cancel  context.CancelFunc
		done    chan error
		metrics *Metrics
	}
	start := func() *replica {
		ctx, cancel := context.WithCancel(context.Background())
		r := &replica{cancel: cancel, done: make(chan error, 1), metrics: NewMetrics(prometheus.NewRegistry())}
		cfg := testConfig(group)
		cfg.BatchRows = 100
		c := New(Options{Config: cfg, Kafka: s.kafka, Store: s.conn, Metrics: r.metrics, Log: testLogger(t)})
		go func() { r.done <- c.Run(ctx, RunOptions{}) }()
		return r
	}
	replicas := []*replica{start(), start(), start()}
	defer func() {
		for _, r := range replicas {
			r.cancel()
		}
	}()

	stacktest.WaitFor(t, 60*time.Second, "the replicas to consume part of the first half", func() bool {
		var n float64
		for _, r := range replicas {
			n += testutil.ToFloat64(r.metrics.MessagesConsumed)
		}
		return n >= 500
	})
	leaver := replicas[2]
	leaver.cancel()
	if err := <-leaver.done; err != nil {
		t.Fatalf("replica leaving: %v", err)
	}
	publish(t, s.kafka, second)
	stacktest.WaitFor(t, 90*time.Second, "the group to commit everything", func() bool { return groupLag(t, s, group) == 0 })
	for _, r := range replicas[:2] {
		r.cancel()
		if err := <-r.done; err != nil {
			t.Fatalf("replica stopping: %v", err)
		}
	}
	assertCounts(t, s.conn, first, second)
	busy := 0
	for _, r := range replicas {
		if testutil.ToFloat64(r.metrics.MessagesConsumed) > 0 {
			busy++
		}
	}
	if busy < 2 {
		t.Errorf("only %d replica(s) consumed anything; the partitions were not shared", busy)
	}
}

func groupLag(t *testing.T, s stack, group string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := stacktest.KafkaClient(t, s.kafka)
	parts, err := kafkaclient.Partitions(ctx, client, s.kafka.Topic)
	if err != nil {
		t.Fatal(err)
	}
	offsets, err := kafkaclient.GroupOffsets(ctx, client, s.kafka.Topic, group, parts)
	if err != nil {
		t.Logf("reading group offsets: %v", err)
		return -1
	}
	var lag int64
	for _, o := range offsets {
		if o.Committed < 0 && o.End > o.First {
			return -1
		}
		lag += o.Lag()
	}
	return lag
}

// TestPostsOverManyDays: posts spread over 300 days (a backfill, or a
// producer's wrong dates) are counted, each batch touching at most
// MaxDaysPerBatch day partitions. Current ClickHouse releases refuse an
// insert into more than 100 partitions, which would wedge the consumer.
func TestPostsOverManyDays(t *testing.T) {
	s := newStack(t, 1)
	posts := stacktest.GenPosts("d", 300, time.Now(), 0, 5)
	for i := range posts {
		posts[i].CreatedAt = time.Now().UTC().AddDate(0, 0, -i)
	}
	publish(t, s.kafka, posts)
	cfg := testConfig(s.kafka.Topic + "-group")
	cfg.BatchRows = 100000
	runCaughtUp(t, s, cfg)
	assertCounts(t, s.conn, posts)

	var days uint64
	if err := s.conn.QueryRow(context.Background(), "SELECT uniqExact(partition) FROM system.parts WHERE database = currentDatabase() AND table = 'mentions'").Scan(&days); err != nil {
		t.Fatalf("counting partitions: %v", err)
	}
	if days < 300 {
		t.Errorf("mentions has %d day partitions, want 300 (one per post's day)", days)
	}
}
