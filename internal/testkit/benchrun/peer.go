package benchrun

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/kafkaclient"
)

// peer measures ClickHouse's own Kafka table engine consuming the
// flattened copy of the messages into a MergeTree table through a
// materialized view, as a user who picked it instead of tagpulse would run
// it.
//
// ClickHouse 18.16 cannot read the messages ingest writes: JSONEachRow
// rejects created_at in RFC 3339 ("Cannot parse input: expected \" before:
// Z"), cannot read an array of objects into Nested columns (the consumer
// inserts nothing), and takes input_format_skip_unknown_fields for the
// Kafka engine only from the server's default profile. So it consumes a
// topic of flattened messages, one per post (see flatten). It is
// at-least-once: a rebalance or restart may insert a block twice, and
// nothing makes the counts idempotent.
func (e *env) peer(ctx context.Context, fx *fixture, r *Report) error {
	topic, err := e.topic(ctx, "flat")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, e.cfg.KcatBin, "-P", "-b", strings.Join(e.cfg.Brokers, ","), "-t", topic, "-z", "lz4", "-l", fx.flatPath)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		return fmt.Errorf("producing the flattened copy: %v: %s", err, out)
	}
	conn, err := e.openDB(ctx, e.db)
	if err != nil {
		return err
	}
	defer conn.Close()
	want := uint64(len(fx.rows))
	var extra []float64
	rates, err := e.repeat(ctx, "ClickHouse Kafka engine", func(ctx context.Context, i int) (float64, error) {
		n := strconv.Itoa(i)
		group := "bench_" + e.suffix + "_chgroup" + n
		ddl := []string{
			`CREATE TABLE peer_mentions` + n + ` (post_id String, tag String, display String, created_at DateTime, source String, lang String)
				ENGINE = MergeTree PARTITION BY toYYYYMMDD(created_at) ORDER BY (tag, post_id)`,
			`CREATE TABLE peer_queue` + n + ` (id String, created_at DateTime, source String, lang String, tags Array(String), displays Array(String))
				ENGINE = Kafka('` + strings.Join(e.cfg.Brokers, ",") + `', '` + topic + `', '` + group + `', 'JSONEachRow')`,
			`CREATE MATERIALIZED VIEW peer_mv` + n + ` TO peer_mentions` + n + ` AS
				SELECT id AS post_id, tag, display, created_at, source, lang
				FROM peer_queue` + n + ` ARRAY JOIN tags AS tag, displays AS display`,
		}
		// The engine's consumer starts a new group at the end of the topic
		// (librdkafka's auto.offset.reset); a committed offset 0 on every
		// partition makes it read the topic from its start.
		if err := e.commitStart(ctx, topic, group); err != nil {
			return 0, err
		}
		start := time.Now()
		for _, q := range ddl {
			if err := conn.Exec(ctx, q); err != nil {
				return 0, fmt.Errorf("creating the Kafka engine pipeline: %w", err)
			}
		}
		defer func() {
			for _, q := range []string{"DROP TABLE IF EXISTS peer_mv" + n, "DROP TABLE IF EXISTS peer_queue" + n} {
				if err := conn.Exec(context.WithoutCancel(ctx), q); err != nil {
					e.log.Warn("dropping the Kafka engine pipeline", "err", err)
				}
			}
		}()
		got, d, err := waitCount(ctx, conn, "SELECT count() FROM peer_mentions"+n, want, start, peerTimeout(len(fx.rows)))
		if err != nil {
			return 0, fmt.Errorf("ClickHouse's Kafka engine wrote %d of %d rows: %w", got, want, err)
		}
		// Nothing more should come; whatever does is a duplicate.
		time.Sleep(time.Second)
		if err := conn.QueryRow(ctx, "SELECT count() FROM peer_mentions"+n).Scan(&got); err != nil {
			return 0, err
		}
		extra = append(extra, float64(got-want))
		return float64(want) / d.Seconds(), nil
	})
	if err != nil {
		return err
	}
	r.PeerRows = median(rates)
	r.PeerPosts = r.PeerRows * float64(len(fx.msgs)) / float64(len(fx.rows))
	r.PeerDuplicates = median(extra)
	return nil
}

// commitStart commits offset 0 of every partition of topic for group, as a
// consumer outside the group protocol may.
func (e *env) commitStart(ctx context.Context, topic, group string) error {
	client, err := e.kafka.Client()
	if err != nil {
		return err
	}
	offsets := make(map[int]int64, e.cfg.Partitions)
	for p := range e.cfg.Partitions {
		offsets[p] = 0
	}
	return kafkaclient.CommitOffsets(ctx, client, topic, group, offsets)
}

func peerTimeout(rows int) time.Duration {
	return time.Minute + time.Duration(rows)*50*time.Microsecond
}

// waitCount polls query (a count) until it reaches want; it returns the
// last count and the time from start until it did.
func waitCount(ctx context.Context, conn driver.Conn, query string, want uint64, start time.Time, timeout time.Duration) (uint64, time.Duration, error) {
	var got uint64
	for {
		if err := conn.QueryRow(ctx, query).Scan(&got); err != nil {
			return got, 0, err
		}
		if got >= want {
			return got, time.Since(start), nil
		}
		if time.Since(start) > timeout {
			return got, 0, errTimeout
		}
		select {
		case <-ctx.Done():
			return got, 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (e *env) openDB(ctx context.Context, db string) (driver.Conn, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{e.cfg.ClickHouseAddr}, Auth: clickhouse.Auth{Database: db, Username: "default"}})
	if err == nil {
		err = conn.Ping(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to ClickHouse database %s: %w", db, err)
	}
	return conn, nil
}
