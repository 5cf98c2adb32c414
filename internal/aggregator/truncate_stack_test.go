package aggregator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/testkit/stacktest"
)

// deleteRecordsBefore deletes the messages of partition 0 of topic before
// offset, as the topic's retention would, with a DeleteRecords request (API
// key 21, version 0), which kafka-go does not offer. The local stack is one
// broker, the leader of every partition.
func deleteRecordsBefore(t *testing.T, k *kafkaclient.Config, topic string, offset int64) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", k.Brokers[0], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	var req bytes.Buffer
	put := func(v any) { _ = binary.Write(&req, binary.BigEndian, v) }
	putString := func(s string) { put(int16(len(s))); req.WriteString(s) }
	put(int16(21)) // DeleteRecords
	put(int16(0))  // version
	put(int32(1))  // correlation id
	putString("tagpulse-test")
	put(int32(1)) // topics
	putString(topic)
	put(int32(1)) // partitions
	put(int32(0))
	put(offset)
	put(int32(10000)) // timeout ms
	frame := binary.BigEndian.AppendUint32(nil, uint32(req.Len()))
	if _, err := conn.Write(append(frame, req.Bytes()...)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	var size, correlation, throttle, topics int32
	for _, v := range []any{&size, &correlation, &throttle, &topics} {
		if err := binary.Read(r, binary.BigEndian, v); err != nil {
			t.Fatalf("reading the DeleteRecords response: %v", err)
		}
	}
	var nameLen int16
	_ = binary.Read(r, binary.BigEndian, &nameLen)
	if _, err := r.Discard(int(nameLen)); err != nil {
		t.Fatal(err)
	}
	var parts, partition int32
	var low int64
	var code int16
	for _, v := range []any{&parts, &partition, &low, &code} {
		if err := binary.Read(r, binary.BigEndian, v); err != nil {
			t.Fatalf("reading the DeleteRecords response: %v", err)
		}
	}
	if code != 0 || low != offset {
		t.Fatalf("DeleteRecords of %s before %d: error code %d, low watermark %d", topic, offset, code, low)
	}
}

// TestReplayRefusesWhatRetentionDeleted deletes the oldest messages of the
// topic as retention would. A replay or rebuild whose range reaches back
// before what is left is refused with ErrBeforeRetention and does nothing
// (today's failure was "messages=0" and success); --allow-truncated
// replays what is left; a range after the deletion is untouched by it.
func TestReplayRefusesWhatRetentionDeleted(t *testing.T) {
	s := newStack(t, 1)
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
	t0 := time.Now()
	old := oldExtractorPosts("old", 5, day.Add(time.Hour))
	publish(t, s.kafka, old)
	time.Sleep(50 * time.Millisecond)
	t1 := time.Now()
	time.Sleep(50 * time.Millisecond)
	kept := stacktest.GenPosts("kept", 5, time.Now(), 0, 9)
	publish(t, s.kafka, kept)
	runCaughtUp(t, s, testConfig(s.kafka.Topic+"-group"))
	deleteRecordsBefore(t, s.kafka, s.kafka.Topic, 5)

	client := stacktest.KafkaClient(t, s.kafka)
	oldest, err := kafkaclient.MessageTime(context.Background(), client, s.kafka.Topic, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{Config: testConfig("unused"), Kafka: s.kafka, Store: s.conn, Metrics: NewMetrics(prometheus.NewRegistry()), Log: testLogger(t)})
	ctx := context.Background()
	tests := []struct {
		name         string
		opt          ReplayOptions
		wantErr      error
		wantMessages int64
	}{
		{"arrival range before the deletion", ReplayOptions{Since: t0, Until: time.Now()}, ErrBeforeRetention, 0},
		{"created_at range before the deletion", ReplayOptions{CreatedSince: day, CreatedUntil: day.AddDate(0, 0, 1)}, ErrBeforeRetention, 0},
		{"allowed", ReplayOptions{Since: t0, Until: time.Now(), AllowTruncated: true}, nil, 5},
		{"from the oldest message left", ReplayOptions{Since: oldest, Until: time.Now()}, nil, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := c.Replay(ctx, tt.opt)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("replay: %v, want %v", err, tt.wantErr)
			}
			if st.Messages != tt.wantMessages {
				t.Errorf("replay read %d messages, want %d", st.Messages, tt.wantMessages)
			}
			if !st.RetainedSince.Equal(oldest) || st.RetainedSince.Before(t1) {
				t.Errorf("retained since %s, want %s, the arrival of offset 5", st.RetainedSince, oldest)
			}
		})
	}
	// A rebuild of the day whose messages are gone drops nothing.
	rs, err := c.Rebuild(ctx, RebuildOptions{From: day, To: day.AddDate(0, 0, 1)})
	if !errors.Is(err, ErrBeforeRetention) || len(rs.Days) != 0 {
		t.Fatalf("rebuild of a deleted day: %+v, %v; want ErrBeforeRetention and nothing dropped", rs, err)
	}
	assertCounts(t, s.conn, old, kept)
}
