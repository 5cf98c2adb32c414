// Package aggregator is the consuming half of cmd/aggregate: it reads the
// posts topic in a consumer group, turns each post into mention rows,
// writes them to ClickHouse in batches (chstore), and commits Kafka offsets
// only once a batch is stored. Counts are idempotent by post id in the
// schema, so the redeliveries this at-least-once loop allows never change a
// number (docs/exactly-once.md). Poison messages go to the dead-letter
// topic; replays re-read a time range outside the group.
package aggregator

import (
	"errors"
	"fmt"
	"time"

	"tagpulse/internal/chstore"
	"tagpulse/internal/command"
)

// DefaultGroup is the consumer group of the aggregate replicas.
const DefaultGroup = "tagpulse-aggregate"

// Config tunes the consumer. Its defaults are in Defaults.
type Config struct {
	Group string

	// A batch is flushed when it holds BatchRows rows, BatchBytes bytes or
	// posts of MaxDaysPerBatch days, or FlushInterval after its first
	// message, whichever comes first.
	BatchRows     int
	BatchBytes    int
	FlushInterval time.Duration

	// InsertTimeout bounds one insert attempt, so a ClickHouse that hangs
	// is retried like one that refuses.
	InsertTimeout time.Duration
	// RetryMin and RetryMax bound the exponential backoff of retries.
	RetryMin, RetryMax time.Duration

	// QueueCapacity and FetchMaxBytes bound what the Kafka reader holds
	// besides the batch: at most QueueCapacity messages queued, fetched in
	// responses of at most FetchMaxBytes per partition.
	QueueCapacity int
	FetchMaxBytes int
	// FetchMaxWait is how long the broker may hold a fetch that has
	// nothing to return. Reading is not slower for a short wait (a fetch
	// returns as soon as there is a message); stopping is: the reader's
	// Close waits for the fetches in flight, so a run --until-caught-up
	// spends up to this long at exit (250 ms was a tenth of a 200,000-post
	// run; BENCHMARKS.md). Shorter means more empty fetches when idle, one
	// per partition per wait.
	FetchMaxWait time.Duration

	// MemoryLimit is the Go runtime's soft memory limit for the process
	// (runtime/debug.SetMemoryLimit), set by the commands that consume; 0
	// leaves the runtime's own (GOMEMLIMIT, or none). Batches are the bulk
	// of the heap, and without a limit the garbage collector lets the heap
	// grow to twice what is live: with it, the process stays near the
	// limit while the live heap is below it (BENCHMARKS.md, RSS). Under
	// it the heap may grow to five times what is live unless GOGC is set
	// (command.ApplyMemoryLimit), so a busy aggregator's heap reaches the
	// limit: raise or lower it with the batch sizes.
	MemoryLimit int64

	// LagInterval is how often lag and readiness are refreshed.
	LagInterval time.Duration

	// The poison guard trips when, among the last PoisonWindow messages,
	// more than PoisonMax and more than half were poison: the input, not a
	// few bad posts, is wrong (a producer writing another format, a wrong
	// topic). PoisonPolicy says what the consumer does then:
	// PoisonDeadLetter (the default) or PoisonHalt.
	PoisonWindow int
	PoisonMax    int
	PoisonPolicy string

	// InsertDurability is when ClickHouse may acknowledge an insert, and
	// so when the offsets of its rows may be committed: chstore.FsyncAuto
	// (the default: parts are fsynced where the server can), FsyncRequired
	// or FsyncServer. InsertQuorum, above 0, is the replicas that must
	// hold a part before a replicated table acknowledges it
	// (docs/guarantees.md).
	InsertDurability string
	InsertQuorum     int
}

// RegisterFlags adds the consumer flags with their defaults.
func (c *Config) RegisterFlags(s *command.FlagSet) {
	d := Defaults()
	s.String(&c.Group, "kafka-group", "KAFKA_GROUP", d.Group, "Kafka consumer group")
	s.Int(&c.BatchRows, "batch-rows", "AGGREGATE_BATCH_ROWS", d.BatchRows, "flush a batch at this many mention rows")
	s.Int(&c.BatchBytes, "batch-bytes", "AGGREGATE_BATCH_BYTES", d.BatchBytes, "flush a batch at this many bytes of messages and rows")
	s.Duration(&c.FlushInterval, "flush-interval", "AGGREGATE_FLUSH_INTERVAL", d.FlushInterval, "flush a batch at the latest this long after its first message")
	s.Duration(&c.InsertTimeout, "insert-timeout", "AGGREGATE_INSERT_TIMEOUT", d.InsertTimeout, "time limit of one insert attempt")
	s.Duration(&c.RetryMin, "retry-min", "AGGREGATE_RETRY_MIN", d.RetryMin, "first retry delay")
	s.Duration(&c.RetryMax, "retry-max", "AGGREGATE_RETRY_MAX", d.RetryMax, "longest retry delay")
	s.Int(&c.QueueCapacity, "queue-capacity", "AGGREGATE_QUEUE_CAPACITY", d.QueueCapacity, "messages the Kafka reader may queue ahead of the batch")
	s.Int(&c.FetchMaxBytes, "fetch-max-bytes", "AGGREGATE_FETCH_MAX_BYTES", d.FetchMaxBytes, "largest Kafka fetch response per partition")
	s.Duration(&c.FetchMaxWait, "fetch-max-wait", "AGGREGATE_FETCH_MAX_WAIT", d.FetchMaxWait, "longest the broker holds a fetch with nothing to return")
	s.Int64(&c.MemoryLimit, "memory-limit", "AGGREGATE_MEMORY_LIMIT", d.MemoryLimit, "soft memory limit of the process in bytes (0: the Go runtime's, GOMEMLIMIT)")
	s.Duration(&c.LagInterval, "lag-interval", "AGGREGATE_LAG_INTERVAL", d.LagInterval, "how often consumer lag and readiness are refreshed")
	s.Int(&c.PoisonWindow, "poison-window", "AGGREGATE_POISON_WINDOW", d.PoisonWindow, "messages the poison guard looks back over")
	s.Int(&c.PoisonMax, "poison-max", "AGGREGATE_POISON_MAX", d.PoisonMax, "poison messages in the window tolerated whatever their share")
	s.String(&c.InsertDurability, "insert-durability", "AGGREGATE_INSERT_DURABILITY", d.InsertDurability, "when ClickHouse may acknowledge an insert: fsync (parts fsynced, else refuse to start), auto (fsync where the server can) or server (its default: before fsync)")
	s.Int(&c.InsertQuorum, "insert-quorum", "AGGREGATE_INSERT_QUORUM", d.InsertQuorum, "replicas that must hold an insert before a replicated table acknowledges it (0: the server's insert_quorum)")
	s.String(&c.PoisonPolicy, "poison-policy", "AGGREGATE_POISON_POLICY", d.PoisonPolicy, "when the poison guard trips: deadletter (consume on, raise tagpulse_aggregate_poison_guard_tripped) or halt (store and commit the batch, then exit)")
}

// Validate checks the settings.
func (c *Config) Validate() error {
	var errs []error
	if c.Group == "" {
		errs = append(errs, errors.New("--kafka-group must not be empty"))
	}
	if c.BatchRows < 1 {
		errs = append(errs, fmt.Errorf("--batch-rows must be at least 1, got %d", c.BatchRows))
	}
	if c.BatchBytes < 1<<10 {
		errs = append(errs, fmt.Errorf("--batch-bytes must be at least 1024, got %d", c.BatchBytes))
	}
	if c.FlushInterval <= 0 || c.FlushInterval > time.Minute {
		errs = append(errs, fmt.Errorf("--flush-interval must be in (0, 1m], got %s", c.FlushInterval))
	}
	if c.InsertTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--insert-timeout must be positive, got %s", c.InsertTimeout))
	}
	if c.RetryMin <= 0 || c.RetryMax < c.RetryMin {
		errs = append(errs, fmt.Errorf("--retry-min (%s) must be positive and at most --retry-max (%s)", c.RetryMin, c.RetryMax))
	}
	if c.QueueCapacity < 1 || c.FetchMaxBytes < 1<<10 {
		errs = append(errs, fmt.Errorf("--queue-capacity (%d) must be at least 1 and --fetch-max-bytes (%d) at least 1024", c.QueueCapacity, c.FetchMaxBytes))
	}
	if c.FetchMaxWait < time.Millisecond || c.FetchMaxWait > 30*time.Second {
		errs = append(errs, fmt.Errorf("--fetch-max-wait must be in [1ms, 30s], got %s", c.FetchMaxWait))
	}
	if c.MemoryLimit != 0 && c.MemoryLimit < 32<<20 {
		errs = append(errs, fmt.Errorf("--memory-limit must be 0 or at least 32 MiB, got %d", c.MemoryLimit))
	}
	if c.LagInterval <= 0 {
		errs = append(errs, fmt.Errorf("--lag-interval must be positive, got %s", c.LagInterval))
	}
	if c.PoisonWindow < 0 || c.PoisonMax < 0 {
		errs = append(errs, errors.New("--poison-window and --poison-max must not be negative"))
	}
	if c.PoisonPolicy != PoisonDeadLetter && c.PoisonPolicy != PoisonHalt {
		errs = append(errs, fmt.Errorf("--poison-policy must be %s or %s, got %q", PoisonDeadLetter, PoisonHalt, c.PoisonPolicy))
	}
	if _, err := chstore.ParseFsyncMode(c.InsertDurability); err != nil {
		errs = append(errs, err)
	}
	if c.InsertQuorum < 0 {
		errs = append(errs, fmt.Errorf("--insert-quorum must not be negative, got %d", c.InsertQuorum))
	}
	return errors.Join(errs...)
}

// durability is the chstore.Durability of c; c is valid.
func (c *Config) durability() chstore.Durability {
	return chstore.Durability{Fsync: chstore.FsyncMode(c.InsertDurability), Quorum: c.InsertQuorum}
}

// Defaults returns the default Config; RegisterFlags uses it.
func Defaults() Config {
	return Config{
		Group: DefaultGroup, BatchRows: 100000, BatchBytes: 64 << 20, FlushInterval: time.Second,
		InsertTimeout: 30 * time.Second, RetryMin: 200 * time.Millisecond, RetryMax: 30 * time.Second,
		QueueCapacity: 1000, FetchMaxBytes: 1 << 20, FetchMaxWait: 100 * time.Millisecond, MemoryLimit: 192 << 20,
		LagInterval:  10 * time.Second,
		PoisonWindow: 1000, PoisonMax: 100, PoisonPolicy: PoisonDeadLetter,
		InsertDurability: string(chstore.FsyncAuto),
	}
}
