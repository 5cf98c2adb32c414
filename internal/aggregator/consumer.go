package aggregator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/segmentio/kafka-go"

	"tagpulse/internal/kafkaclient"
)

// shutdownGrace bounds the last flush and commit after the context ends.
const shutdownGrace = 15 * time.Second

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

// Consumer is the aggregate consumer loop. Build it with New, run it with
// Run; Ready says whether /readyz is true.
type Consumer struct {
	cfg     Config
	kafka   *kafkaclient.Config
	store   driver.Conn
	metrics *Metrics
	log     *slog.Logger
	now     func() time.Time

	storeOK  atomic.Bool // the last insert or ping succeeded
	kafkaOK  atomic.Bool // the last fetch succeeded or timed out idle
	retrying atomic.Bool // an operation is being retried
	running  atomic.Bool

	// pending holds, per partition, the last message written but not yet
	// committed; a failed commit is carried into the next one.
	pending map[int]kafka.Message
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
	return &Consumer{cfg: o.Config, kafka: o.Kafka, store: o.Store, metrics: o.Metrics, log: log, now: now, pending: map[int]kafka.Message{}}
}

// Ready reports whether the consumer is running with ClickHouse and Kafka
// answering and no operation being retried.
func (c *Consumer) Ready() bool {
	return c.running.Load() && c.storeOK.Load() && c.kafkaOK.Load() && !c.retrying.Load()
}

func (c *Consumer) updateReady() {
	if c.Ready() {
		c.metrics.Ready.Set(1)
	} else {
		c.metrics.Ready.Set(0)
	}
}

func (c *Consumer) retrier() retrier {
	return retrier{
		backoff: Backoff{Min: c.cfg.RetryMin, Max: c.cfg.RetryMax},
		metrics: c.metrics,
		onFail: func(op string, attempt int, err error) {
			c.retrying.Store(true)
			if op == opInsert {
				c.storeOK.Store(false)
			}
			c.updateReady()
			c.log.Warn("retrying", "operation", op, "attempt", attempt, "err", err)
		},
		onOK: func(op string) {
			c.retrying.Store(false)
			c.log.Info("recovered", "operation", op)
		},
	}
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
	parts, err := topicPartitions(ctx, client, topic)
	if err != nil {
		return err
	}
	c.metrics.initPartitions(parts)
	var target map[int]partitionOffsets
	if opt.UntilCaughtUp {
		if target, err = logOffsets(ctx, client, topic, parts); err != nil {
			return err
		}
	}
	// Do not fetch before ClickHouse answers: whatever is fetched has to
	// be held until it can be written.
	if err := c.retrier().do(ctx, opInsert, kindInsert, c.store.Ping); err != nil {
		return fmt.Errorf("waiting for ClickHouse: %w", err)
	}
	c.storeOK.Store(true)
	c.retrying.Store(false)

	dialer, err := c.kafka.Dialer()
	if err != nil {
		return err
	}
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers:               c.kafka.Brokers,
		GroupID:               c.cfg.Group,
		Topic:                 topic,
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
	})
	dlq, err := newWriter(c.kafka, c.kafka.DLQTopic())
	if err != nil {
		reader.Close()
		return err
	}
	c.kafkaOK.Store(true)
	c.running.Store(true)
	c.updateReady()

	var wg sync.WaitGroup
	monCtx, stopMon := context.WithCancel(ctx)
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.monitor(monCtx, client, parts)
	}()

	err = c.loop(ctx, reader, dlq, client, parts, target)

	c.running.Store(false)
	c.updateReady()
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

func (c *Consumer) loop(ctx context.Context, reader *kafka.Reader, dlq *kafka.Writer, client *kafka.Client, parts []int, target map[int]partitionOffsets) error {
	guard := newPoisonGuard(c.cfg.PoisonWindow, c.cfg.PoisonMax, 0.5)
	fl := newFlusher(c, reader, dlq)
	// Whatever ends the loop, the flush in flight has ended before Run
	// closes the reader and the dead-letter writer.
	defer fl.wait()
	b := newBatch()
	fetchFailures := 0
	tail := c.newTailWatch(ctx, client, parts, target)
	var fetch fetchContext
	defer fetch.stop()
	for {
		// Once everything up to the target is read, nothing more is
		// coming that the run needs: wait for the last flush instead of
		// polling.
		if target != nil && b.empty() && (tail.done() || fl.idle()) {
			if err := fl.wait(); err != nil {
				return c.stopped(err, b, fl)
			}
			done, err := c.caughtUp(ctx, client, parts, target)
			if err != nil {
				c.log.Warn("checking whether caught up", "err", err)
			} else if done {
				c.log.Info("caught up with the end offsets seen at start")
				return nil
			}
		}
		deadline := c.now().Add(c.cfg.FlushInterval)
		switch {
		case !b.empty():
			deadline = b.started.Add(c.cfg.FlushInterval)
		case target != nil && !fl.idle():
			// Nothing read since the last batch went out: look again
			// soon whether its flush has ended and the run caught up.
			deadline = c.now().Add(caughtUpPoll)
		}
		m, err := reader.FetchMessage(fetch.with(ctx, deadline))
		switch {
		case ctx.Err() != nil:
			return c.shutdown(b, fl)
		case errors.Is(err, context.DeadlineExceeded):
			c.kafkaOK.Store(true)
			c.updateReady()
			if !b.empty() {
				if err := fl.send(ctx, b); err != nil {
					return c.stopped(err, b, fl)
				}
				b = fl.next()
			}
			continue
		case err != nil:
			c.metrics.Errors.WithLabelValues(kindFetch).Inc()
			if !Retryable(err) {
				return fmt.Errorf("fetching from %s: %w", c.kafka.Topic, err)
			}
			fetchFailures++
			c.kafkaOK.Store(false)
			c.updateReady()
			c.metrics.Retries.WithLabelValues(opFetch).Inc()
			c.log.Warn("fetching from Kafka", "err", err, "attempt", fetchFailures)
			if !sleep(ctx, Backoff{Min: c.cfg.RetryMin, Max: c.cfg.RetryMax}.Delay(fetchFailures)) {
				return c.shutdown(b, fl)
			}
			continue
		}
		fetchFailures = 0
		c.kafkaOK.Store(true)
		c.metrics.MessagesConsumed.Inc()
		p := b.add(m, c.now())
		if p != nil {
			c.log.Debug("poison message", "partition", m.Partition, "offset", m.Offset, "reason", p.Reason, "err", p.Err)
		}
		if err := guard.observe(p != nil); err != nil {
			c.metrics.Errors.WithLabelValues(kindPoisonRate).Inc()
			// Nothing of this batch is committed: the operator fixes the
			// producer (or the topic) and the consumer resumes here.
			return err
		}
		tailRead := tail.read(m)
		if b.rows.Len() >= c.cfg.BatchRows || b.bytes >= c.cfg.BatchBytes || tailRead {
			if err := fl.send(ctx, b); err != nil {
				return c.stopped(err, b, fl)
			}
			b = fl.next()
		}
	}
}

// fetchContext is the context of the reader's fetches, kept while their
// deadline stays the same: every fetch of a batch has the batch's flush
// deadline, and a context with a deadline (and its timer) per message was
// a tenth of the consumer's CPU.
type fetchContext struct {
	ctx      context.Context
	cancel   context.CancelFunc
	deadline time.Time
}

func (f *fetchContext) with(parent context.Context, deadline time.Time) context.Context {
	if f.ctx == nil || !deadline.Equal(f.deadline) {
		f.stop()
		f.ctx, f.cancel = context.WithDeadline(parent, deadline)
		f.deadline = deadline
	}
	return f.ctx
}

func (f *fetchContext) stop() {
	if f.cancel != nil {
		f.cancel()
	}
}

// caughtUpPoll is how often a run --until-caught-up that has nothing new
// to read looks whether its last flush has ended.
const caughtUpPoll = 20 * time.Millisecond

// stopped handles a flush that ended: when ctx ended it is a shutdown
// (flush what is held with a fresh deadline), otherwise a fatal error.
func (c *Consumer) stopped(err error, b *batch, fl *flusher) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return c.shutdown(b, fl)
	}
	return err
}

// shutdown makes a last attempt to store and commit what the consumer
// holds after the run's context ended: the batch whose flush the shutdown
// interrupted, then the batch being filled. What it cannot store is not
// committed, and neither is anything after it, so it is read again by
// whoever owns the partition next.
func (c *Consumer) shutdown(b *batch, fl *flusher) error {
	fl.wait()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	for _, held := range []*batch{fl.failed(), b} {
		if held == nil || (held.empty() && len(c.pending) == 0) {
			continue
		}
		if err := c.flush(ctx, held, fl.reader, fl.dlq); err != nil {
			c.log.Warn("last flush at shutdown; its messages will be read again", "err", err)
			return nil
		}
	}
	return nil
}

// flush writes the batch's rows to ClickHouse and its poison to the
// dead-letter topic, then commits its offsets: never the other way round.
func (c *Consumer) flush(ctx context.Context, b *batch, reader *kafka.Reader, dlq *kafka.Writer) error {
	r := c.retrier()
	if err := c.write(ctx, b); err != nil {
		return err
	}
	if len(b.poison) > 0 {
		if err := r.do(ctx, opDLQ, kindDLQ, func(ctx context.Context) error { return sendDLQ(ctx, dlq, b.poison) }); err != nil {
			return err
		}
		for _, p := range b.poison {
			c.metrics.DLQMessages.WithLabelValues(p.Reason).Inc()
		}
	}
	for p, m := range b.last {
		c.pending[p] = m
	}
	if err := c.commit(ctx, reader); err != nil {
		return err
	}
	c.retrying.Store(false)
	c.metrics.LastFlush.Set(float64(c.now().UnixNano()) / 1e9)
	c.updateReady()
	c.log.Debug("flushed", "messages", b.messages, "rows", b.rows.Len(), "poison", len(b.poison))
	return nil
}

// write inserts the batch's rows, retrying what can be retried, and
// records the insert metrics.
func (c *Consumer) write(ctx context.Context, b *batch) error {
	if b.rows.Len() == 0 {
		return nil
	}
	start := time.Now()
	err := c.retrier().do(ctx, opInsert, kindInsert, func(ctx context.Context) error {
		ictx, cancel := context.WithTimeout(ctx, c.cfg.InsertTimeout)
		defer cancel()
		return b.rows.Insert(ictx, c.store)
	})
	if err != nil {
		return err
	}
	c.storeOK.Store(true)
	now := c.now()
	c.metrics.InsertDuration.Observe(time.Since(start).Seconds())
	c.metrics.BatchSize.Observe(float64(b.rows.Len()))
	c.metrics.RowsInserted.WithLabelValues("mentions").Add(float64(b.rows.Len()))
	for _, s := range b.times {
		c.metrics.Freshness.WithLabelValues("created_at").Observe(now.Sub(s.created).Seconds())
		if !s.kafka.IsZero() {
			c.metrics.Freshness.WithLabelValues("kafka").Observe(now.Sub(s.kafka).Seconds())
		}
	}
	return nil
}

// commitAttempts bounds the retries of one commit. A commit that still
// fails (the group is rebalancing, this member lost its partitions) is
// carried into the next one; meanwhile its messages may be read again
// by another member, which the schema absorbs.
const commitAttempts = 5

func (c *Consumer) commit(ctx context.Context, reader *kafka.Reader) error {
	if len(c.pending) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, 0, len(c.pending))
	for _, m := range c.pending {
		msgs = append(msgs, m)
	}
	var err error
	for attempt := 1; attempt <= commitAttempts; attempt++ {
		if err = reader.CommitMessages(ctx, msgs...); err == nil {
			clear(c.pending)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.metrics.Errors.WithLabelValues(kindCommit).Inc()
		c.log.Warn("committing offsets", "attempt", attempt, "err", err)
		if attempt < commitAttempts {
			c.metrics.Retries.WithLabelValues(opCommit).Inc()
			if !sleep(ctx, Backoff{Min: c.cfg.RetryMin, Max: c.cfg.RetryMax}.Delay(attempt)) {
				return ctx.Err()
			}
		}
	}
	c.log.Warn("offsets not committed; carried into the next commit", "err", err)
	return nil
}

// caughtUp reports whether the group has committed, on every partition,
// everything up to the end offsets of target.
func (c *Consumer) caughtUp(ctx context.Context, client *kafka.Client, parts []int, target map[int]partitionOffsets) (bool, error) {
	committed, err := kafkaclient.CommittedOffsets(ctx, client, c.kafka.Topic, c.cfg.Group, parts)
	if err != nil {
		return false, err
	}
	for p, t := range target {
		if t.end > t.first && committed[p] < t.end {
			return false, nil
		}
	}
	return true, nil
}

// tailWatch tells a run --until-caught-up when it has read, on every
// partition it had to, the last message before the target's end offsets:
// the batch then holds the tail of the backlog and is flushed at once
// instead of --flush-interval after its first message, which would only
// wait for messages the run does not need. A nil tailWatch (not a
// caught-up run, or the committed offsets could not be read) never
// reports the tail, and the batch waits as in a daemon run.
type tailWatch struct {
	// left holds, per partition still to be read, the offset of the last
	// message before the target's end.
	left map[int]int64
}

func (c *Consumer) newTailWatch(ctx context.Context, client *kafka.Client, parts []int, target map[int]partitionOffsets) *tailWatch {
	if target == nil {
		return nil
	}
	committed, err := kafkaclient.CommittedOffsets(ctx, client, c.kafka.Topic, c.cfg.Group, parts)
	if err != nil {
		c.log.Debug("reading committed offsets; the last batch waits for --flush-interval", "err", err)
		return nil
	}
	w := &tailWatch{left: map[int]int64{}}
	for p, t := range target {
		if t.end > t.first && committed[p] < t.end {
			w.left[p] = t.end - 1
		}
	}
	return w
}

// read records m and reports whether it was the last message to read.
// Partitions whose last message is not at end-1 (transaction markers,
// compaction) are never crossed off: the batch then waits, which is slower
// but never wrong.
func (w *tailWatch) read(m kafka.Message) bool {
	if w == nil {
		return false
	}
	last, ok := w.left[m.Partition]
	if !ok || m.Offset < last {
		return false
	}
	delete(w.left, m.Partition)
	return len(w.left) == 0
}

// done reports whether every partition has been read to the target.
func (w *tailWatch) done() bool { return w != nil && len(w.left) == 0 }

// monitor refreshes the lag gauges and, while nothing is being retried,
// checks that ClickHouse still answers, so /readyz turns false when it goes
// away even while no message arrives.
func (c *Consumer) monitor(ctx context.Context, client *kafka.Client, parts []int) {
	t := time.NewTicker(c.cfg.LagInterval)
	defer t.Stop()
	for {
		c.refreshLag(ctx, client, parts)
		if !c.retrying.Load() {
			pctx, cancel := context.WithTimeout(ctx, c.cfg.LagInterval)
			c.storeOK.Store(c.store.Ping(pctx) == nil || ctx.Err() != nil)
			cancel()
			c.updateReady()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Consumer) refreshLag(ctx context.Context, client *kafka.Client, parts []int) {
	offsets, err := groupOffsets(ctx, client, c.kafka.Topic, c.cfg.Group, parts)
	if err != nil {
		if ctx.Err() == nil {
			c.metrics.Errors.WithLabelValues(kindLag).Inc()
			c.log.Debug("reading consumer lag", "err", err)
		}
		return
	}
	now := c.now()
	for p, o := range offsets {
		label := strconv.Itoa(p)
		lag := o.lag()
		c.metrics.LagMessages.WithLabelValues(label).Set(float64(lag))
		age := 0.0
		if lag > 0 {
			ts, err := messageTime(ctx, client, c.kafka.Topic, p, o.position())
			if err != nil {
				c.log.Debug("reading the oldest uncommitted message", "partition", p, "err", err)
				continue
			}
			age = max(now.Sub(ts).Seconds(), 0)
		}
		c.metrics.LagSeconds.WithLabelValues(label).Set(age)
	}
}

// sleep waits d or until ctx ends; it reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
