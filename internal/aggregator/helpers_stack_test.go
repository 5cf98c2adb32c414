package aggregator

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"tagpulse/internal/chstore"
	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/post"
	"tagpulse/internal/rollup"
	"tagpulse/internal/testkit/stacktest"
)

// stack is one test's piece of the real local stack: its own topic and
// database, with the schema migrated.
type stack struct {
	kafka *kafkaclient.Config
	store chstore.Config
	conn  driver.Conn
}

func newStack(t *testing.T, partitions int) stack {
	t.Helper()
	k := stacktest.Kafka(t, partitions)
	store, conn := stacktest.MigratedClickHouse(t)
	return stack{kafka: k, store: store, conn: conn}
}

// testConfig flushes and refreshes quickly so tests stay short.
func testConfig(group string) Config {
	c := Defaults()
	c.Group = group
	c.BatchRows = 500
	c.FlushInterval = 200 * time.Millisecond
	c.LagInterval = 500 * time.Millisecond
	c.RetryMin = 50 * time.Millisecond
	c.RetryMax = time.Second
	return c
}

// publish writes the posts to the test topic, keyed by post id, plus any
// raw values given.
func publish(t *testing.T, k *kafkaclient.Config, posts []post.Message, raw ...[]byte) {
	t.Helper()
	msgs := make([]kafka.Message, 0, len(posts)+len(raw))
	for _, p := range posts {
		v, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(p.ID), Value: v})
	}
	for i, v := range raw {
		msgs = append(msgs, kafka.Message{Key: []byte(fmt.Sprintf("poison-%d", i)), Value: v})
	}
	stacktest.Produce(t, k, k.Topic, msgs...)
}

type minuteTag struct {
	minute time.Time
	tag    string
}

// expectedCounts counts distinct posts per tag per minute.
func expectedCounts(posts ...[]post.Message) map[minuteTag]uint64 {
	sets := map[minuteTag]map[string]bool{}
	for _, list := range posts {
		for _, p := range list {
			for _, h := range p.Hashtags {
				k := minuteTag{p.CreatedAt.UTC().Truncate(time.Minute), h.Tag}
				if sets[k] == nil {
					sets[k] = map[string]bool{}
				}
				sets[k][p.ID] = true
			}
		}
	}
	out := make(map[minuteTag]uint64, len(sets))
	for k, s := range sets {
		out[k] = uint64(len(s))
	}
	return out
}

// storedCounts reads the per-minute counts back from mentions, after
// checking that the counts through the rollups agree with it
// (stacktest.TagTotals).
func storedCounts(t *testing.T, conn driver.Conn) map[minuteTag]uint64 {
	t.Helper()
	stacktest.TagTotals(t, conn)
	rows, err := conn.Query(context.Background(), "SELECT toStartOfMinute(created_at) AS minute, tag, uniqExact(post_id) FROM mentions WHERE "+
		rollup.CountedSQL("1")+" GROUP BY minute, tag")
	if err != nil {
		t.Fatalf("reading mentions: %v", err)
	}
	defer rows.Close()
	out := map[minuteTag]uint64{}
	for rows.Next() {
		var k minuteTag
		var n uint64
		if err := rows.Scan(&k.minute, &k.tag, &n); err != nil {
			t.Fatalf("reading mentions: %v", err)
		}
		k.minute = k.minute.UTC()
		out[k] = n
	}
	return out
}

// assertCounts compares the stored counts with the expected ones, per
// minute and tag and per tag.
func assertCounts(t *testing.T, conn driver.Conn, posts ...[]post.Message) {
	t.Helper()
	want, got := expectedCounts(posts...), storedCounts(t, conn)
	if !reflect.DeepEqual(got, want) {
		var diffs []string
		for k, w := range want {
			if got[k] != w {
				diffs = append(diffs, fmt.Sprintf("%s %s: got %d, want %d", k.minute.Format("15:04"), k.tag, got[k], w))
			}
		}
		for k, g := range got {
			if _, ok := want[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s %s: got %d, want none", k.minute.Format("15:04"), k.tag, g))
			}
		}
		t.Fatalf("per-minute counts differ in %d of %d buckets: %v", len(diffs), len(want), diffs[:min(len(diffs), 10)])
	}
	if got, want := stacktest.TagTotals(t, conn), stacktest.WantTotals(posts...); !reflect.DeepEqual(got, want) {
		t.Fatalf("per-tag totals: got %v, want %v", got, want)
	}
}

// assertPosts checks that the posts table holds each post with hashtags
// once (after LIMIT 1 BY id, as reads take it), with its excerpt and
// fields, and no other post.
func assertPosts(t *testing.T, conn driver.Conn, posts []post.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := conn.Query(ctx, "SELECT id, created_at, source, lang, author, url, excerpt FROM posts ORDER BY inserted_at DESC LIMIT 1 BY id")
	if err != nil {
		t.Fatalf("reading posts: %v", err)
	}
	defer rows.Close()
	got := map[string]chstore.Post{}
	for rows.Next() {
		var p chstore.Post
		if err := rows.Scan(&p.ID, &p.CreatedAt, &p.Source, &p.Lang, &p.Author, &p.URL, &p.Excerpt); err != nil {
			t.Fatal(err)
		}
		got[p.ID] = p
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, m := range posts {
		if len(m.Hashtags) == 0 {
			continue
		}
		want++
		p, ok := got[m.ID]
		if !ok {
			t.Fatalf("post %s is not in the posts table", m.ID)
		}
		excerpt := post.Excerpt(m.Text, post.MaxExcerptRunes)
		if !p.CreatedAt.Equal(m.CreatedAt) || p.Source != m.Source || p.Lang != m.Lang || p.Author != m.Author || p.URL != m.URL || p.Excerpt != excerpt {
			t.Fatalf("post %s stored as %+v, want %+v with excerpt %q", m.ID, p, m.Post, excerpt)
		}
	}
	if len(got) != want {
		t.Fatalf("posts table holds %d posts, want %d", len(got), want)
	}
}

// runCaughtUp runs a consumer in this process until it has caught up.
func runCaughtUp(t *testing.T, s stack, cfg Config) *Metrics {
	t.Helper()
	m := NewMetrics(prometheus.NewRegistry())
	c := New(Options{Config: cfg, Kafka: s.kafka, Store: s.conn, Metrics: m, Log: testLogger(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Run(ctx, RunOptions{UntilCaughtUp: true}); err != nil {
		t.Fatalf("running until caught up: %v", err)
	}
	return m
}
