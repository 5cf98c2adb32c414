package aggregatecli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/aggregator"
	"tagpulse/internal/testkit/stacktest"
)

// execute runs the aggregate command with args and returns its output and
// error output.
func execute(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := New()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = cmd.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// TestHelpListsOnlyFlagsThatAct checks that replay, rebuild and the dlq
// commands list the flags they act on and none of those they register
// with a shared group but ignore.
func TestHelpListsOnlyFlagsThatAct(t *testing.T) {
	tests := []struct {
		args         []string
		want, hidden []string
	}{
		{[]string{"replay"}, []string{"--since", "--created-since", "--allow-truncated", "--batch-rows", "--clickhouse-dsn", "--kafka-topic"}, replayHidden},
		{[]string{"rebuild"}, []string{"--created-since", "--created-until", "--allow-truncated", "--clickhouse-dsn"}, replayHidden},
		{[]string{"dlq", "replay"}, []string{"--skip-poison", "--force", "--dlq-group", "--kafka-topic"}, kafkaCreateFlags},
		{[]string{"dlq", "list"}, []string{"--json", "--kafka-topic"}, kafkaCreateFlags},
		{[]string{"run"}, []string{"--kafka-retention", "--kafka-dlq-retention", "--partitions", "--poison-policy", "--kafka-group"}, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, _, err := execute(t, append(tt.args, "--help")...)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.want {
				if !strings.Contains(out, f+" ") && !strings.Contains(out, f+"[") {
					t.Errorf("--help lacks %s", f)
				}
			}
			for _, f := range tt.hidden {
				if strings.Contains(out, "--"+f+" ") || strings.Contains(out, "--"+f+"[") {
					t.Errorf("--help lists --%s, which does nothing here", f)
				}
			}
		})
	}
}

// TestReplayRange checks how replay's flags become its range.
func TestReplayRangeFlags(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name                         string
		since, until, csince, cuntil string
		want                         aggregator.ReplayOptions
		wantErr                      bool
	}{
		{name: "no selector", wantErr: true},
		{name: "arrival, until now", since: "2h", want: aggregator.ReplayOptions{Since: now.Add(-2 * time.Hour), Until: now}},
		{name: "created_at by dates", csince: "2026-03-01", cuntil: "2026-03-02",
			want: aggregator.ReplayOptions{CreatedSince: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), CreatedUntil: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}},
		{name: "both clocks", since: "2026-03-09T00:00:00Z", csince: "48h",
			want: aggregator.ReplayOptions{Since: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), Until: now, CreatedSince: now.Add(-48 * time.Hour)}},
		{name: "bad time", csince: "last week", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := replayRange(now, tt.since, tt.until, tt.csince, tt.cuntil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want one: %v", err, tt.wantErr)
			}
			if err == nil && (!got.Since.Equal(tt.want.Since) || !got.Until.Equal(tt.want.Until) ||
				!got.CreatedSince.Equal(tt.want.CreatedSince) || !got.CreatedUntil.Equal(tt.want.CreatedUntil)) {
				t.Errorf("range %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDLQCommands runs dlq list and dlq replay on a dead-letter topic of
// the real Kafka holding one letter that decodes now and one that does
// not: list prints both with their reasons (table and JSON lines), replay
// fails while the poison remains, twice, and passes it with --skip-poison.
func TestDLQCommands(t *testing.T) {
	k := stacktest.Kafka(t, 1)
	letter := func(value, reason string) kafka.Message {
		return kafka.Message{Key: []byte("k"), Value: []byte(value), Headers: []kafka.Header{
			{Key: aggregator.HeaderTopic, Value: []byte(k.Topic)}, {Key: aggregator.HeaderPartition, Value: []byte("0")},
			{Key: aggregator.HeaderOffset, Value: []byte("7")}, {Key: aggregator.HeaderReason, Value: []byte(reason)},
			{Key: aggregator.HeaderError, Value: []byte("field created_at: " + reason)},
		}}
	}
	stacktest.Produce(t, k, k.DLQTopic(),
		letter(`{"id":"p1","text":"#ok","created_at":"yesterday","hashtags":[]}`, "invalid_value"),
		letter(`{"id":"p2","text":"#ok","created_at":"2026-01-01T00:00:00Z","hashtags":[{"tag":"ok","display":"ok"}],"extractor_version":1}`, "other"),
	)
	base := []string{"--kafka-brokers", strings.Join(k.Brokers, ","), "--kafka-topic", k.Topic}

	out, _, err := execute(t, append([]string{"dlq", "list"}, base...)...)
	if err != nil {
		t.Fatalf("dlq list: %v", err)
	}
	if !strings.Contains(out, "REASON") || !strings.Contains(out, "invalid_value") || !strings.Contains(out, k.Topic+"/0/7") {
		t.Errorf("dlq list table lacks the reason or origin:\n%s", out)
	}
	out, _, err = execute(t, append([]string{"dlq", "list", "--json"}, base...)...)
	if err != nil {
		t.Fatalf("dlq list --json: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("dlq list --json: %d lines, want 2:\n%s", len(lines), out)
	}
	var first aggregator.DeadLetter
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatalf("dlq list --json line %q: %v", lines[0], err)
	}
	if first.Reason != "invalid_value" || first.OriginalOffset != 7 || string(first.Post) != `{"created_at":"yesterday","id":"p1","text":"#ok"}` {
		t.Errorf("dlq list --json: %+v", first)
	}

	group := []string{"--dlq-group", k.Topic + "-dlq"}
	for i := range 2 {
		_, _, err = execute(t, append(append([]string{"dlq", "replay"}, base...), group...)...)
		if !errors.Is(err, aggregator.ErrStillPoison) || !strings.Contains(err.Error(), "1 dead letters still poison") || !strings.Contains(err.Error(), "invalid_value=1") {
			t.Fatalf("dlq replay run %d: %v; want it to fail naming 1 still poison (invalid_value)", i+1, err)
		}
	}
	if _, _, err = execute(t, append(append([]string{"dlq", "replay", "--skip-poison"}, base...), group...)...); err != nil {
		t.Fatalf("dlq replay --skip-poison: %v", err)
	}
	if _, _, err = execute(t, append(append([]string{"dlq", "replay"}, base...), group...)...); err != nil {
		t.Fatalf("dlq replay after --skip-poison: %v, want nothing left", err)
	}
}

// TestReplaySaysWhenItKeptNothing replays a range of created_at that no
// post of the topic has: the command says so on stderr.
func TestReplaySaysWhenItKeptNothing(t *testing.T) {
	k := stacktest.Kafka(t, 1)
	store, _ := stacktest.MigratedClickHouse(t)
	stacktest.Produce(t, k, k.Topic, kafka.Message{Key: []byte("a"), Value: []byte(`{"id":"a","text":"#x","created_at":"2026-01-01T10:00:00Z","hashtags":[{"tag":"x","display":"x"}],"extractor_version":1}`)})
	args := []string{"replay", "--kafka-brokers", strings.Join(k.Brokers, ","), "--kafka-topic", k.Topic, "--clickhouse-dsn", store.DSN}
	_, stderr, err := execute(t, append(args, "--created-since", "2025-01-01", "--created-until", "2025-01-02")...)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if !strings.Contains(stderr, "no post in the range") || !strings.Contains(stderr, "posts_kept=0") || !strings.Contains(stderr, "messages_read=1") {
		t.Errorf("replay of an empty created_at range: stderr\n%s\nwant messages_read=1, posts_kept=0 and a note", stderr)
	}
}
