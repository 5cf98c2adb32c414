package aggregator

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/segmentio/kafka-go"

	"tagpulse/internal/chstore"
	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/retry"
)

// Options are the parts a Consumer is built from.
type Options struct {
	Config  Config
	Kafka   *kafkaclient.Config
	Store   driver.Conn
	Metrics *Metrics
	Log     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Consumer is the aggregate consumer. Build it with New, run it with Run;
// Ready says whether /readyz is true.
//
// Run wires its parts, each with one job: a fetcher reads messages, the
// loop (loop.go) fills batches and decides when each is due, a flusher
// stores each batch through a sink (write, dead-letter, commit) in the
// background, a lagMonitor refreshes lag and probes ClickHouse, and health
// owns readiness.
type Consumer struct {
	cfg     Config
	kafka   *kafkaclient.Config
	store   driver.Conn
	metrics *Metrics
	log     *slog.Logger
	now     func() time.Time
	health  *health
}

// New returns a consumer.
func New(o Options) *Consumer {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Kafka != nil {
		o.Metrics.initTopics(o.Kafka.Topic, o.Kafka.DLQTopic())
	}
	return &Consumer{cfg: o.Config, kafka: o.Kafka, store: o.Store, metrics: o.Metrics, log: log, now: now, health: newHealth(o.Metrics.Ready)}
}

// Ready reports whether the consumer is running with ClickHouse and Kafka
// answering and no operation being retried.
func (c *Consumer) Ready() bool { return c.health.ready() }

func (c *Consumer) backoff() retry.Backoff {
	return retry.Backoff{Min: c.cfg.RetryMin, Max: c.cfg.RetryMax}
}

func (c *Consumer) retrier() retrier {
	return retrier{backoff: c.backoff(), metrics: c.metrics, health: c.health, log: c.log}
}

// newSink returns the sink that stores batches through c's connection,
// dead-letters to dlq and commits through commits (both nil for a
// replay).
func (c *Consumer) newSink(dlq *kafka.Writer, commits committer) *sink {
	return &sink{
		store: c.store, dlq: dlq, commits: commits, retry: c.retrier(), backoff: c.backoff(), timeout: c.cfg.InsertTimeout,
		durability: c.cfg.durability(), metrics: c.metrics, health: c.health, log: c.log, now: c.now, pending: map[int]kafka.Message{},
	}
}

// prepareDurability applies --insert-durability to the tables before the
// first insert, whose acknowledgement lets offsets be committed, and says
// what an acknowledgement means on this server.
func (c *Consumer) prepareDurability(ctx context.Context) error {
	d := c.cfg.durability()
	fsynced, err := chstore.PrepareDurability(ctx, c.store, d.Fsync)
	if err != nil {
		return fmt.Errorf("applying --insert-durability=%s: %w", d.Fsync, err)
	}
	if !fsynced && d.Fsync != chstore.FsyncServer {
		c.log.Warn("this ClickHouse cannot fsync inserted parts: an acknowledged insert, and so a committed offset, can be lost to a power loss (docs/guarantees.md)", "insert_durability", d.Fsync)
	}
	c.log.Info("insert durability", "mode", d.Fsync, "fsync", fsynced, "insert_quorum", d.Quorum)
	return nil
}

// RunOptions change what Run does.
type RunOptions struct {
	// UntilCaughtUp makes Run return nil once the group has committed
	// everything up to the end offsets the topic had when Run started.
	UntilCaughtUp bool
}

// Run consumes until ctx ends (then flushes and commits what it holds and
// returns nil), until caught up when asked, or until a fatal error.
func (c *Consumer) Run(ctx context.Context, opt RunOptions) error {
	topic := c.kafka.Topic
	if err := c.kafka.EnsureTopics(ctx, topic, c.kafka.DLQTopic()); err != nil {
		return err
	}
	client, err := c.kafka.Client()
	if err != nil {
		return err
	}
	parts, err := kafkaclient.Partitions(ctx, client, topic)
	if err != nil {
		return err
	}
	c.metrics.initPartitions(parts)
	c.reportRetention(ctx, client)
	var target map[int]kafkaclient.PartitionOffsets
	if opt.UntilCaughtUp {
		if target, err = kafkaclient.LogOffsets(ctx, client, topic, parts); err != nil {
			return err
		}
	}
	// Do not fetch before ClickHouse answers: whatever is fetched has to
	// be held until it can be written.
	if err := c.retrier().do(ctx, opInsert, kindInsert, c.store.Ping); err != nil {
		return fmt.Errorf("waiting for ClickHouse: %w", err)
	}
	if err := c.prepareDurability(ctx); err != nil {
		return err
	}

	reader, err := c.newReader()
	if err != nil {
		return err
	}
	dlq, err := newWriter(c.kafka, c.kafka.DLQTopic())
	if err != nil {
		reader.Close()
		return err
	}
	c.health.started()

	var wg sync.WaitGroup
	monCtx, stopMon := context.WithCancel(ctx)
	mon := lagMonitor{
		client: client, topic: topic, group: c.cfg.Group, parts: parts, store: c.store, interval: c.cfg.LagInterval,
		metrics: c.metrics, health: c.health, log: c.log, now: c.now,
	}
	wg.Go(func() { mon.run(monCtx) })

	l := &loop{
		cfg: c.cfg, metrics: c.metrics, log: c.log, now: c.now,
		fetch:  &fetcher{reader: reader, topic: topic, retry: c.retrier(), health: c.health},
		flush:  newFlusher(c.newSink(dlq, reader)),
		poison: newPoisonWatch(c.cfg, c.metrics, c.log),
		progress: progress{
			client: client, topic: topic, group: c.cfg.Group, parts: parts, target: target,
		},
	}
	err = l.run(ctx)

	c.health.stopped()
	stopMon()
	wg.Wait()
	if cerr := reader.Close(); cerr != nil {
		c.log.Debug("closing Kafka reader", "err", cerr)
	}
	if cerr := dlq.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("closing dead-letter writer: %w", cerr)
	}
	return err
}

// newReader returns the group reader of the posts topic.
func (c *Consumer) newReader() (*kafka.Reader, error) {
	dialer, err := c.kafka.Dialer()
	if err != nil {
		return nil, err
	}
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:               c.kafka.Brokers,
		GroupID:               c.cfg.Group,
		Topic:                 c.kafka.Topic,
		Dialer:                dialer,
		QueueCapacity:         c.cfg.QueueCapacity,
		MinBytes:              1,
		MaxBytes:              c.cfg.FetchMaxBytes,
		MaxWait:               c.cfg.FetchMaxWait,
		CommitInterval:        0, // synchronous commits, each after its batch is stored
		StartOffset:           kafka.FirstOffset,
		WatchPartitionChanges: true,
		HeartbeatInterval:     time.Second,
		SessionTimeout:        10 * time.Second,
		RebalanceTimeout:      10 * time.Second,
		JoinGroupBackoff:      time.Second,
		ErrorLogger:           kafka.LoggerFunc(func(msg string, args ...any) { c.log.Debug("kafka reader: " + fmt.Sprintf(msg, args...)) }),
	}), nil
}

// reportRetention logs the retention of the posts topic and its
// dead-letter topic and exports it as a metric. The retention bounds what
// replay, rebuild and dlq replay can read; a topic created before tagpulse
// set it, or by someone else, may not have the one configured, and says
// so here. A broker that refuses DescribeConfigs (an ACL) is only logged.
func (c *Consumer) reportRetention(ctx context.Context, client *kafka.Client) {
	topics := []string{c.kafka.Topic, c.kafka.DLQTopic()}
	got, err := kafkaclient.TopicRetention(ctx, client, topics...)
	if err != nil {
		c.log.Warn("reading topic retention", "err", err)
		return
	}
	for _, t := range topics {
		r := got[t]
		secs := r.Seconds()
		if r < 0 {
			secs = -1
		}
		c.metrics.TopicRetention.WithLabelValues(t).Set(secs)
		want := c.kafka.RetentionFor(t)
		if want > 0 && r != want {
			c.log.Warn("topic retention differs from the configured one, which applies only when tagpulse creates the topic",
				"topic", t, "retention", r.String(), "configured", want.String())
			continue
		}
		c.log.Info("topic retention", "topic", t, "retention", r.String())
	}
}
