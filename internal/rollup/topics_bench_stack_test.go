package rollup_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"tagpulse/internal/rollup"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/topic"
	"tagpulse/internal/trend"
)

// BenchmarkTopicEdit measures what a topic edit costs the rollup worker
// (docs/trends.md, "Topics"): a seeded history of TAGPULSE_BENCH_POSTS
// posts (default 300,000; 1 to 3 tags each, Zipf-like over 50,000 tags, as
// docs/schema-v2.md's generator) over the 30 days before today is stored
// and rolled up whole once (reported as full_rollup_s); then each
// iteration adds or removes a tag of a topic of the five most used tags
// and catches up, which redoes only the topic tiers of the 30 days. It
// also reports a 30-day top by topic read once the worker is done, and
// checks its count against mentions.
//
//	TAGPULSE_TEST_CLICKHOUSE_ADDR=127.0.0.1:9001 go test -run '^$' -bench TopicEdit -benchtime 3x ./internal/rollup/
func BenchmarkTopicEdit(b *testing.B) {
	posts := 300_000
	if v := os.Getenv("TAGPULSE_BENCH_POSTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("TAGPULSE_BENCH_POSTS=%q: want a positive number", v)
		}
		posts = n
	}
	_, conn := stacktest.MigratedClickHouse(b)
	ctx := context.Background()
	end := time.Now().UTC().Truncate(24 * time.Hour)
	start := end.Add(-30 * 24 * time.Hour)
	err := conn.Exec(ctx, fmt.Sprintf(`INSERT INTO mentions (post_id, account, tag, display, created_at, source, lang, extractor_version, kafka_partition, kafka_offset, inserted_at)
SELECT concat('p', toString(number)),
  if(cityHash64(number, 7) %% 20 = 0, '', concat('a', toString(toUInt32(pow(300000, (cityHash64(number, 8) %% 1000000) / 1000000))))),
  concat('t', toString(toUInt32(pow(50000, (cityHash64(number, 10 + i) %% 1000000) / 1000000)))) AS tag,
  tag, toDateTime(%d + cityHash64(number, 1) %% %d),
  ['mastodon', 'bluesky', 'rss'][1 + cityHash64(number, 2) %% 3], ['en', 'fr', 'de', 'es'][1 + cityHash64(number, 3) %% 4],
  1, 0, toInt64(number), now()
FROM numbers(%d) ARRAY JOIN range(toUInt64(1 + cityHash64(number, 4) %% 3)) AS i`, start.Unix(), 30*24*3600, posts))
	if err != nil {
		b.Fatal(err)
	}
	if err := rollup.MarkAll(ctx, conn); err != nil {
		b.Fatal(err)
	}
	w := rollup.NewWorker(conn, nil, nil)
	t0 := time.Now()
	if err := w.CatchUp(ctx, io.Discard); err != nil {
		b.Fatal(err)
	}
	full := time.Since(t0)
	topics := topic.NewStore(conn, rollup.MarkTopics)
	if _, err := topics.Add(ctx, "bench", "bench", "t1", "t2", "t3", "t4", "t5"); err != nil {
		b.Fatal(err)
	}
	if err := w.CatchUp(ctx, io.Discard); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			_, err = topics.Remove(ctx, "bench", "bench", "t5")
		} else {
			_, err = topics.Add(ctx, "bench", "bench", "t5")
		}
		if err != nil {
			b.Fatal(err)
		}
		if err := w.CatchUp(ctx, io.Discard); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.StopTimer()
	store := trend.NewStore(conn, trend.DefaultParams())
	t1 := time.Now()
	top, err := store.Top(ctx, trend.Query{At: end.Add(-time.Second), Window: 30 * 24 * time.Hour, Limit: 10, Topics: true})
	if err != nil || len(top) != 1 {
		b.Fatalf("top by topic over 30 days = %+v, %v", top, err)
	}
	// Every post lies in the 30 days: the topic's count is the distinct
	// posts of its tags in mentions.
	members, err := topic.ReadMembers(ctx, conn)
	if err != nil {
		b.Fatal(err)
	}
	var truth uint64
	if err := conn.QueryRow(ctx, "SELECT uniqExact(post_id) FROM mentions WHERE tag IN (SELECT arrayJoin(?))", members.Tags).Scan(&truth); err != nil {
		b.Fatal(err)
	}
	if top[0].Count != truth {
		b.Fatalf("top by topic counts %d posts, mentions %d", top[0].Count, truth)
	}
	b.ReportMetric(full.Seconds(), "full_rollup_s")
	b.ReportMetric(time.Since(t1).Seconds()*1000, "top_topic_30d_ms")
	b.ReportMetric(float64(top[0].Count), "topic_posts")
}
