package aggregator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/segmentio/kafka-go"
)

// ErrPoisonRate is returned by Consumer.Run when the share of poison
// messages is so high that the input, not a few bad posts, is wrong (a
// producer writing another format, a wrong topic): the consumer stops
// rather than drain the whole topic into the dead-letter topic.
var ErrPoisonRate = errors.New("poison message rate above the guard's limit")

// ErrFatal marks an error that retrying cannot cure (a missing table, a
// refused password, a schema that does not match); the consumer stops with
// it instead of retrying for ever.
var ErrFatal = errors.New("fatal error")

// fatalClickHouseCodes are ClickHouse exception codes that a retry cannot
// cure: the schema, the credentials or the query are wrong. Every other
// error (network, timeouts, too many parts, memory limits, a server
// restarting) is retried.
var fatalClickHouseCodes = map[int32]string{
	16:  "NO_SUCH_COLUMN_IN_TABLE",
	36:  "BAD_ARGUMENTS",
	47:  "UNKNOWN_IDENTIFIER",
	53:  "TYPE_MISMATCH",
	60:  "UNKNOWN_TABLE",
	62:  "SYNTAX_ERROR",
	81:  "UNKNOWN_DATABASE",
	164: "READONLY",
	192: "UNKNOWN_USER",
	193: "WRONG_PASSWORD",
	194: "REQUIRED_PASSWORD",
	497: "ACCESS_DENIED",
	516: "AUTHENTICATION_FAILED",
}

// fatalKafkaErrors are Kafka errors that say the configuration or the
// credentials are wrong. Every other Kafka error (leadership moving, a
// rebalance, a coordinator loading, timeouts) passes and is retried.
var fatalKafkaErrors = map[kafka.Error]bool{
	kafka.TopicAuthorizationFailed:   true,
	kafka.GroupAuthorizationFailed:   true,
	kafka.ClusterAuthorizationFailed: true,
	kafka.SASLAuthenticationFailed:   true,
	kafka.UnsupportedSASLMechanism:   true,
	kafka.InvalidTopic:               true,
	kafka.InvalidGroupId:             true,
}

// Retryable reports whether err is worth retrying: true for network errors,
// timeouts and server-side conditions that pass, false for ErrFatal, for
// ClickHouse errors that say the schema or the credentials are wrong and for
// Kafka errors that say the configuration is wrong.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, ErrFatal) || errors.Is(err, context.Canceled) {
		return false
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		_, fatal := fatalClickHouseCodes[ex.Code]
		return !fatal
	}
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		return !fatalKafkaErrors[kerr]
	}
	var nerr net.Error
	switch {
	case errors.As(err, &nerr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	// An error we cannot place is retried: retrying costs time, giving up
	// on a passing condition would stop the pipeline.
	return true
}

// Backoff is a capped exponential backoff with jitter.
type Backoff struct {
	Min, Max time.Duration
}

// Delay returns the wait before retry number attempt (1 for the first
// retry): Min doubled each attempt, capped at Max, with up to 20 % jitter
// so replicas do not retry in step.
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Min
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// retry runs fn until it succeeds, fails with an error that Retryable
// rejects, or ctx ends. Each failure is counted and reported to onFail
// before the backoff; onOK runs after a success that followed failures.
type retrier struct {
	backoff Backoff
	metrics *Metrics
	onFail  func(op string, attempt int, err error)
	onOK    func(op string)
}

func (r retrier) do(ctx context.Context, op, kind string, fn func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			if attempt > 1 && r.onOK != nil {
				r.onOK(op)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.metrics.Errors.WithLabelValues(kind).Inc()
		if !Retryable(err) {
			return fmt.Errorf("%s (not retryable): %w", op, err)
		}
		if r.onFail != nil {
			r.onFail(op, attempt, err)
		}
		r.metrics.Retries.WithLabelValues(op).Inc()
		t := time.NewTimer(r.backoff.Delay(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
