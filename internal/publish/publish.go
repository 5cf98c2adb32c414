// Package publish writes posts to the Kafka topic that aggregate consumes.
// It wraps a kafka-go Writer configured for safety first: every message is
// keyed by its post id and placed with a hash balancer (the same post always
// lands in the same partition), acknowledged by all in-sync replicas, retried
// by the writer, and compressed and batched by count, bytes and time.
//
// Publish is synchronous: it returns once Kafka has acknowledged (or finally
// refused) every message it was given, so callers advance cursors and answer
// webhook clients only for posts that are safely stored.
package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"tagpulse/internal/command"
	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/post"
	"tagpulse/internal/retry"
)

// Config tunes the Kafka writer.
type Config struct {
	// Compression is none, gzip, snappy, lz4 or zstd.
	Compression string
	BatchSize   int
	BatchBytes  int64
	// BatchTimeout is how long the writer waits for a partition's batch to
	// fill. Publish is synchronous: its caller waits for the whole call,
	// whose messages all reach the writer at once, so a longer wait only
	// delays it (at 20 ms, ingest file published 14k posts/s; at 1 ms,
	// 59k; see BENCHMARKS.md). Concurrent callers still share batches.
	BatchTimeout time.Duration
	// MaxAttempts bounds the writer's attempts per batch before Publish
	// reports the messages as failed.
	MaxAttempts  int
	WriteTimeout time.Duration
	// RetryFor is how long Publish goes on writing again, with backoff,
	// the messages the writer could not place for a reason that passes (a
	// broker down, leadership moving to another, too few in-sync replicas)
	// before it reports them failed; 0 leaves it to the writer's attempts.
	// It outlasts a broker's failover: Kafka fences a dead broker after
	// broker.session.timeout.ms (9 s by default) and the writer's metadata
	// follows within the transport's MetadataTTL.
	RetryFor time.Duration
}

// DefaultConfig returns the defaults the flags start from.
func DefaultConfig() Config {
	return Config{
		Compression:  "lz4",
		BatchSize:    1000,
		BatchBytes:   1 << 20,
		BatchTimeout: time.Millisecond,
		MaxAttempts:  10,
		WriteTimeout: 10 * time.Second,
		RetryFor:     30 * time.Second,
	}
}

// RegisterFlags adds the writer flags, each with its environment variable.
func (c *Config) RegisterFlags(s *command.FlagSet) {
	d := DefaultConfig()
	s.String(&c.Compression, "kafka-compression", "KAFKA_COMPRESSION", d.Compression, "compression of produced batches: none, gzip, snappy, lz4 or zstd")
	s.Int(&c.BatchSize, "kafka-batch-size", "KAFKA_BATCH_SIZE", d.BatchSize, "most messages in one produce batch per partition")
	s.Int64(&c.BatchBytes, "kafka-batch-bytes", "KAFKA_BATCH_BYTES", d.BatchBytes, "most bytes in one produce request per partition")
	s.Duration(&c.BatchTimeout, "kafka-batch-timeout", "KAFKA_BATCH_TIMEOUT", d.BatchTimeout, "longest wait for a batch to fill before it is sent")
	s.Int(&c.MaxAttempts, "kafka-max-attempts", "KAFKA_MAX_ATTEMPTS", d.MaxAttempts, "attempts per batch before a write is reported as failed")
	s.Duration(&c.WriteTimeout, "kafka-write-timeout", "KAFKA_WRITE_TIMEOUT", d.WriteTimeout, "timeout of one produce request")
	s.Duration(&c.RetryFor, "kafka-retry-for", "KAFKA_RETRY_FOR", d.RetryFor, "how long to write again, with backoff, posts Kafka could not take for a reason that passes (a broker down, a leader moving) before reporting them failed; 0: the writer's attempts only")
}

// Validate checks the settings.
func (c *Config) Validate() error {
	if _, err := compression(c.Compression); err != nil {
		return err
	}
	switch {
	case c.BatchSize < 1:
		return fmt.Errorf("publish: --kafka-batch-size must be at least 1, got %d", c.BatchSize)
	case c.BatchBytes < 1024:
		return fmt.Errorf("publish: --kafka-batch-bytes must be at least 1024, got %d", c.BatchBytes)
	case c.BatchTimeout <= 0:
		return fmt.Errorf("publish: --kafka-batch-timeout must be positive, got %s", c.BatchTimeout)
	case c.MaxAttempts < 1:
		return fmt.Errorf("publish: --kafka-max-attempts must be at least 1, got %d", c.MaxAttempts)
	case c.WriteTimeout <= 0:
		return fmt.Errorf("publish: --kafka-write-timeout must be positive, got %s", c.WriteTimeout)
	case c.RetryFor < 0:
		return fmt.Errorf("publish: --kafka-retry-for must not be negative, got %s", c.RetryFor)
	}
	return nil
}

func compression(name string) (kafka.Compression, error) {
	switch strings.ToLower(name) {
	case "", "none":
		return 0, nil
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("publish: unknown compression %q (want none, gzip, snappy, lz4 or zstd)", name)
}

// requiredAcks is what every produce request asks of Kafka: all in-sync
// replicas (acks=all). With a topic of replication factor 3 and
// min.insync.replicas=2, an acknowledged post survives the loss of any
// one broker; with fewer in-sync replicas than that the broker refuses
// the write, and Publish reports the error rather than losing the post.
const requiredAcks = kafka.RequireAll

// Publisher writes post messages to one topic.
type Publisher struct {
	w        *kafka.Writer
	tr       *kafka.Transport
	m        *metrics
	now      func() time.Time
	retryFor time.Duration // Config.RetryFor
	encoders sync.Pool     // of *encoding
}

// encoding is the memory of one Publish call, reused by the next.
type encoding struct {
	buf  []byte
	ends []int
	msgs []kafka.Message
}

// New builds a Publisher for the topic of kc. It does not contact Kafka; call
// kc.EnsureTopics first so the topic exists.
func New(cfg Config, kc *kafkaclient.Config, reg prometheus.Registerer) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	codec, _ := compression(cfg.Compression)
	tr, err := kc.Transport()
	if err != nil {
		return nil, err
	}
	w := &kafka.Writer{
		Addr:         kafka.TCP(kc.Brokers...),
		Topic:        kc.Topic,
		Balancer:     &keyHashBalancer{},
		RequiredAcks: requiredAcks,
		Compression:  codec,
		BatchSize:    cfg.BatchSize,
		BatchBytes:   cfg.BatchBytes,
		BatchTimeout: cfg.BatchTimeout,
		MaxAttempts:  cfg.MaxAttempts,
		WriteTimeout: cfg.WriteTimeout,
		Transport:    &topicMetadataMemo{RoundTripper: tr, ttl: time.Second, now: time.Now},
		// The topic is created by EnsureTopics with the configured partition
		// count; broker-side auto-creation would pick its own.
		AllowAutoTopicCreation: false,
	}
	pub := &Publisher{w: w, tr: tr, m: newMetrics(reg, requiredAcks), now: time.Now, retryFor: cfg.RetryFor}
	pub.encoders.New = func() any { return new(encoding) }
	return pub, nil
}

// Publish writes msgs and waits for Kafka to acknowledge them. It returns
// how many were acknowledged; when that is fewer than len(msgs), the error
// says why. Messages are not reordered per key, so a post retried after a
// partial failure keeps its partition.
//
// A cancelled ctx makes Publish return early without knowing the messages'
// fate; callers that must not lose accepted posts pass a context that
// outlives shutdown (context.WithoutCancel plus a timeout).
func (p *Publisher) Publish(ctx context.Context, msgs []post.Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	// One buffer holds every key and value of the call, sized up front and
	// taken from a pool: the writer is done with them when WriteMessages
	// returns, unless ctx ended first (then the buffer is left to the
	// garbage collector, as the writer may still read it).
	enc := p.encoders.Get().(*encoding)
	size := 0
	for i := range msgs {
		size += 2*len(msgs[i].ID) + len(msgs[i].Text) + 64*len(msgs[i].Hashtags) + 160
	}
	buf := slices.Grow(enc.buf[:0], size)
	ends := slices.Grow(enc.ends[:0], 2*len(msgs))
	kmsgs := slices.Grow(enc.msgs[:0], len(msgs))[:len(msgs)]
	for i := range msgs {
		buf = append(buf, msgs[i].ID...)
		ends = append(ends, len(buf))
		var err error
		if buf, err = post.AppendMessage(buf, &msgs[i]); err != nil {
			return 0, fmt.Errorf("encoding post %s: %w", msgs[i].ID, err)
		}
		ends = append(ends, len(buf))
	}
	start := 0
	for i := range kmsgs {
		keyEnd, end := ends[2*i], ends[2*i+1]
		kmsgs[i] = kafka.Message{Key: buf[start:keyEnd:keyEnd], Value: buf[keyEnd:end:end]}
		start = end
	}
	began := p.now()
	failed, err := p.write(ctx, kmsgs)
	p.m.latency.Observe(p.now().Sub(began).Seconds())
	if ctx.Err() == nil {
		clear(kmsgs)
		enc.buf, enc.ends, enc.msgs = buf[:0], ends[:0], kmsgs[:0]
		p.encoders.Put(enc)
	}
	if err == nil {
		return len(msgs), nil
	}
	p.m.writeErrors.Add(float64(failed))
	return len(msgs) - failed, fmt.Errorf("writing %d of %d posts to topic %s: %w", failed, len(msgs), p.w.Topic, err)
}

// retryBackoff spaces the writes of the messages a write could not place
// (Config.RetryFor).
var retryBackoff = retry.Backoff{Min: 500 * time.Millisecond, Max: 5 * time.Second}

// write writes msgs, then again the ones that failed for a reason that
// passes (a broker down, leadership moving, too few replicas in sync)
// until they are all acknowledged, ctx ends or RetryFor has passed since
// the first failure. It returns how many were not acknowledged in the end,
// and why.
func (p *Publisher) write(ctx context.Context, msgs []kafka.Message) (int, error) {
	pending := msgs
	var giveUp time.Time
	for attempt := 1; ; attempt++ {
		err := p.w.WriteMessages(ctx, pending...)
		if err == nil {
			return 0, nil
		}
		var werrs kafka.WriteErrors
		if !errors.As(err, &werrs) {
			if !retryable(err) || ctx.Err() != nil {
				return len(pending), err
			}
		} else {
			var again []kafka.Message
			for i, e := range werrs {
				if e != nil {
					again = append(again, pending[i])
				}
			}
			err = firstError(werrs)
			if !retryable(err) || ctx.Err() != nil {
				return len(again), err
			}
			pending = again
		}
		if attempt == 1 {
			giveUp = p.now().Add(p.retryFor)
		}
		wait := retryBackoff.Delay(attempt)
		if p.now().Add(wait).After(giveUp) {
			return len(pending), err
		}
		p.m.retries.Add(float64(len(pending)))
		if serr := retry.Sleep(ctx, wait); serr != nil {
			return len(pending), err
		}
	}
}

// retryable reports whether a write that failed with err may succeed if
// tried again: Kafka's retriable errors, and the network's.
func retryable(err error) bool {
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		return kerr.Temporary()
	}
	var nerr net.Error
	return errors.As(err, &nerr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

func firstError(werrs kafka.WriteErrors) error {
	for _, e := range werrs {
		if e != nil {
			return e
		}
	}
	return werrs
}

// Close flushes what the writer still holds and closes its connections.
func (p *Publisher) Close() error {
	err := p.w.Close()
	// The writer closes only a transport it made itself.
	p.tr.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("closing Kafka writer: %w", err)
	}
	return nil
}
