package pipelinetest

import (
	"context"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/testkit/stacktest"
)

// TestReplayThroughTheBinary publishes the bundled article and aggregates
// it, then runs `aggregate replay` as an analyst would: into a new, empty
// database it rebuilds the same counts from Kafka alone; into the first
// one again it changes no count; it leaves the consumer group's offsets
// as they were; it reports its progress; a range that ends before it
// starts is refused with a clear error.
func TestReplayThroughTheBinary(t *testing.T) {
	kafkaCfg := stacktest.Kafka(t, 6)
	first, firstConn := stacktest.ClickHouse(t)
	second, secondConn := stacktest.ClickHouse(t)
	bin := stacktest.Binaries(t)
	root := stacktest.RepoRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	group := stacktest.UniqueName("replay")
	cmd := binaries{t: t, dir: bin, env: append(os.Environ(), "KAFKA_BROKERS="+strings.Join(kafkaCfg.Brokers, ","),
		"KAFKA_TOPIC="+kafkaCfg.Topic, "KAFKA_GROUP="+group)}
	intoFirst, intoSecond := cmd.with("CLICKHOUSE_DSN="+first.DSN), cmd.with("CLICKHOUSE_DSN="+second.DSN)

	intoFirst.run("aggregate", "migrate")
	intoFirst.run("ingest", "file", samplePosts(t, root))
	intoFirst.run("aggregate", "run", "--until-caught-up", "--http-addr", "")
	want := stacktest.TagTotals(t, firstConn)
	if len(want) != len(sampleTags) {
		t.Fatalf("after the run, mentions holds %d tags, want the article's %d: %v", len(want), len(sampleTags), want)
	}
	offsets := committedOffsets(ctx, t, kafkaCfg, group)
	var committed int64
	for _, o := range offsets {
		committed += max(o, 0) // -1: nothing committed
	}
	if committed != 1 { // one post, on one partition
		t.Fatalf("after the run the group committed offsets %v, want one message in all", offsets)
	}

	intoSecond.run("aggregate", "migrate")
	_, progress := intoSecond.run("aggregate", "replay", "--since", "1h")
	if !strings.Contains(progress, "100%") || !strings.Contains(progress, "replay done") {
		t.Errorf("replay's stderr shows no finished progress:\n%s", progress)
	}
	if got := stacktest.TagTotals(t, secondConn); !maps.Equal(got, want) {
		t.Errorf("replay into an empty database counted %v, want what the run counted, %v", got, want)
	}

	intoFirst.run("aggregate", "replay", "--since", "1h", "--until", time.Now().Add(time.Minute).UTC().Format(time.RFC3339))
	if got := stacktest.TagTotals(t, firstConn); !maps.Equal(got, want) {
		t.Errorf("replaying what was counted changed the counts to %v, want %v", got, want)
	}
	if got := committedOffsets(ctx, t, kafkaCfg, group); !maps.Equal(got, offsets) {
		t.Errorf("replay moved the group's offsets from %v to %v", offsets, got)
	}

	if msg := intoFirst.fail("aggregate", "replay", "--since", "1h", "--until", "2h"); !strings.Contains(msg, "--until") {
		t.Errorf("a replay that ends before it starts failed without naming --until:\n%s", msg)
	}
}

// committedOffsets returns the group's committed offset per partition of
// the topic (-1 for none).
func committedOffsets(ctx context.Context, t *testing.T, cfg *kafkaclient.Config, group string) map[int]int64 {
	t.Helper()
	client := stacktest.KafkaClient(t, cfg)
	parts := make([]int, cfg.Partitions)
	for i := range parts {
		parts[i] = i
	}
	offsets, err := kafkaclient.CommittedOffsets(ctx, client, cfg.Topic, group, parts)
	if err != nil {
		t.Fatal(err)
	}
	return offsets
}
