package benchrun

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"

	"tagpulse/internal/chstore"
	"tagpulse/internal/kafkaclient"
)

// kcatProduce measures librdkafka's produce of the messages ingest writes
// into topic: same keys, same values, lz4 like ingest's default, acks=all
// (librdkafka's default), and otherwise librdkafka's defaults.
func (e *env) kcatProduce(ctx context.Context, fx *fixture, topic string) (float64, error) {
	cmd := exec.CommandContext(ctx, e.cfg.KcatBin, "-P", "-b", strings.Join(e.cfg.Brokers, ","), "-t", topic,
		"-K", "\t", "-z", "lz4", "-X", "acks=all", "-l", fx.kcatPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("kcat -P: %w: %s", err, stderr.String())
	}
	d := time.Since(start)
	if stderr.Len() > 0 {
		return 0, fmt.Errorf("kcat -P reported: %s", firstLine(stderr.String()))
	}
	if n, err := e.topicMessages(ctx, topic); err != nil || n != int64(len(fx.msgs)) {
		return 0, fmt.Errorf("kcat -P left %d messages in %s, want %d (%v)", n, topic, len(fx.msgs), err)
	}
	return float64(len(fx.msgs)) / d.Seconds(), nil
}

// kcatConsume measures librdkafka's consume of topic from the beginning to
// its end, the output counted through a pipe.
func (e *env) kcatConsume(ctx context.Context, fx *fixture, topic string) (float64, error) {
	cmd := exec.CommandContext(ctx, e.cfg.KcatBin, "-C", "-b", strings.Join(e.cfg.Brokers, ","), "-t", topic,
		"-o", "beginning", "-e", "-q")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	n, cerr := copyCount(out)
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("kcat -C: %w: %s", err, stderr.String())
	}
	d := time.Since(start)
	if cerr != nil || n != len(fx.msgs) {
		return 0, fmt.Errorf("kcat -C read %d messages, want %d (%v)", n, len(fx.msgs), cerr)
	}
	return float64(n) / d.Seconds(), nil
}

// kafkaGo measures a bare kafka-go Writer (the settings of
// internal/publish, without the rest of ingest, given the messages in
// chunks of 10,000) and bare kafka-go Readers,
// one per partition, outside any consumer group.
func (e *env) kafkaGo(ctx context.Context, fx *fixture, r *Report) error {
	var topics []string
	prod, err := e.repeat(ctx, "kafka-go writer", func(ctx context.Context, i int) (float64, error) {
		t, err := e.topic(ctx, "kgo"+strconv.Itoa(i))
		if err != nil {
			return 0, err
		}
		topics = append(topics, t)
		// A transport of its own: the shared default one caches metadata
		// from before the topic existed.
		tr := &kafka.Transport{}
		defer tr.CloseIdleConnections()
		w := &kafka.Writer{
			Addr: kafka.TCP(e.cfg.Brokers...), Topic: t, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
			Compression: compress.Lz4, BatchSize: 1000, BatchBytes: 1 << 20, BatchTimeout: time.Millisecond, Transport: tr,
		}
		msgs := make([]kafka.Message, len(fx.msgs))
		copy(msgs, fx.msgs)
		start := time.Now()
		const chunk = 10000
		for j := 0; j < len(msgs); j += chunk {
			if err := w.WriteMessages(ctx, msgs[j:min(j+chunk, len(msgs))]...); err != nil {
				w.Close()
				return 0, fmt.Errorf("writing: %w", err)
			}
		}
		if err := w.Close(); err != nil {
			return 0, err
		}
		return float64(len(msgs)) / time.Since(start).Seconds(), nil
	})
	if err != nil {
		return err
	}
	r.KafkaGoWrite = median(prod)
	cons, err := e.repeat(ctx, "kafka-go reader", func(ctx context.Context, i int) (float64, error) {
		ends, err := e.endOffsets(ctx, topics[i])
		if err != nil {
			return 0, err
		}
		start := time.Now()
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			total int
			first error
		)
		for p, end := range ends {
			if end == 0 {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				rd := kafka.NewReader(kafka.ReaderConfig{Brokers: e.cfg.Brokers, Topic: topics[i], Partition: p, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 250 * time.Millisecond})
				defer rd.Close()
				n := 0
				var err error
				for {
					var m kafka.Message
					if m, err = rd.ReadMessage(ctx); err != nil {
						break
					}
					n++
					if m.Offset >= end-1 {
						break
					}
				}
				mu.Lock()
				defer mu.Unlock()
				total += n
				if err != nil && first == nil {
					first = err
				}
			}()
		}
		wg.Wait()
		d := time.Since(start)
		if first != nil || total != len(fx.msgs) {
			return 0, fmt.Errorf("kafka-go readers read %d messages, want %d (%v)", total, len(fx.msgs), first)
		}
		return float64(total) / d.Seconds(), nil
	})
	if err != nil {
		return err
	}
	r.KafkaGoRead = median(cons)
	return nil
}

// rawInsert measures clickhouse-go batch inserts of the mention rows into a
// plain MergeTree table (no views), in batches as large as the
// aggregator's default.
func (e *env) rawInsert(ctx context.Context, fx *fixture, r *Report) error {
	conn, err := e.openDB(ctx, e.db)
	if err != nil {
		return err
	}
	defer conn.Close()
	rates, err := e.repeat(ctx, "clickhouse-go insert", func(ctx context.Context, i int) (float64, error) {
		table := "raw_mentions_" + strconv.Itoa(i)
		if err := conn.Exec(ctx, `CREATE TABLE `+table+` (post_id String, tag String, display String, created_at DateTime,
			source String, lang String, extractor_version UInt16, kafka_partition Int32, kafka_offset Int64, inserted_at DateTime)
			ENGINE = MergeTree PARTITION BY toYYYYMMDD(created_at) ORDER BY (tag, post_id)`); err != nil {
			return 0, fmt.Errorf("creating %s: %w", table, err)
		}
		start := time.Now()
		batchRows := insertBatchRows
		for j := 0; j < len(fx.rows); j += batchRows {
			b, err := conn.PrepareBatch(ctx, `INSERT INTO `+table+` (post_id, tag, display, created_at, source, lang, extractor_version, kafka_partition, kafka_offset, inserted_at)`)
			if err != nil {
				return 0, err
			}
			for _, m := range fx.rows[j:min(j+batchRows, len(fx.rows))] {
				if err := b.Append(m.PostID, m.Tag, m.Display, m.CreatedAt, m.Source, m.Lang, m.ExtractorVersion, m.KafkaPartition, m.KafkaOffset, m.InsertedAt); err != nil {
					return 0, err
				}
			}
			if err := b.Send(); err != nil {
				return 0, fmt.Errorf("insert batch into %s: %w", table, err)
			}
		}
		d := time.Since(start)
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+table).Scan(&n); err != nil || n != uint64(len(fx.rows)) {
			return 0, fmt.Errorf("%s holds %d rows, want %d (%v)", table, n, len(fx.rows), err)
		}
		return float64(len(fx.rows)) / d.Seconds(), nil
	})
	if err != nil {
		return err
	}
	r.RawInsert = median(rates)

	// The same rows into tagpulse's schema: mentions, and the marks of
	// their hours for the rollup worker. This is the most the aggregator
	// can write, whatever it does.
	rates, err = e.repeat(ctx, "clickhouse-go insert into the tagpulse schema", func(ctx context.Context, i int) (float64, error) {
		cfg := chstore.Config{DSN: e.dsn(e.database("schema" + strconv.Itoa(i)))}
		if _, err := chstore.Migrate(ctx, cfg); err != nil {
			return 0, err
		}
		conn, err := chstore.Open(ctx, cfg)
		if err != nil {
			return 0, err
		}
		defer conn.Close()
		batchRows := insertBatchRows
		start := time.Now()
		for j := 0; j < len(fx.rows); j += batchRows {
			if err := chstore.InsertMentions(ctx, conn, fx.rows[j:min(j+batchRows, len(fx.rows))]); err != nil {
				return 0, err
			}
		}
		return float64(len(fx.rows)) / time.Since(start).Seconds(), nil
	})
	if err != nil {
		return err
	}
	r.SchemaInsert = median(rates)
	return nil
}

// currentInsert measures rawInsert's two limits on the current
// ClickHouse, when the run has one.
func (e *env) currentInsert(ctx context.Context, fx *fixture, r *Report) error {
	if e.current == nil {
		return nil
	}
	var cr Report
	if err := e.current.rawInsert(ctx, fx, &cr); err != nil {
		return fmt.Errorf("on ClickHouse %s: %w", r.Current.Version, err)
	}
	r.Current.RawInsert, r.Current.SchemaInsert = cr.RawInsert, cr.SchemaInsert
	return nil
}

// insertBatchRows is the aggregator's default --batch-rows (not imported:
// the aggregator's micro-benchmarks import this package).
const insertBatchRows = 100000

// endOffsets returns the high-water mark of each partition of topic.
func (e *env) endOffsets(ctx context.Context, topic string) (map[int]int64, error) {
	client, err := e.kafka.Client()
	if err != nil {
		return nil, err
	}
	parts := make([]int, e.cfg.Partitions)
	for p := range parts {
		parts[p] = p
	}
	logs, err := kafkaclient.LogOffsets(ctx, client, topic, parts)
	if err != nil {
		return nil, err
	}
	out := make(map[int]int64, len(logs))
	for p, o := range logs {
		out[p] = o.End
	}
	return out, nil
}

// topicMessages is the number of messages in a fresh topic.
func (e *env) topicMessages(ctx context.Context, topic string) (int64, error) {
	ends, err := e.endOffsets(ctx, topic)
	var n int64
	for _, v := range ends {
		n += v
	}
	return n, err
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
