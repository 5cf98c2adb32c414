package aggregator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/segmentio/kafka-go"

	"tagpulse/internal/retry"
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

// retrier retries the consumer's operations (the start-up ping, inserts,
// dead-letter writes) through internal/retry for as long as Retryable
// allows: each failure is counted by kind, each retry by operation, and
// health learns that an operation is being retried and when it recovers.
type retrier struct {
	backoff retry.Backoff
	metrics *Metrics
	health  *health
	log     *slog.Logger
}

// policy returns the retry policy of op, whose failures count as kind.
func (r retrier) policy(op, kind string) retry.Policy {
	return retry.Policy{
		Backoff:   r.backoff,
		Retryable: Retryable,
		OnFail: func(f retry.Failure) {
			r.metrics.Errors.WithLabelValues(kind).Inc()
			if f.Last {
				return
			}
			r.health.failing(op)
			r.log.Warn("retrying", "operation", op, "attempt", f.Attempt, "retry_in", f.Wait.Round(time.Millisecond), "err", f.Err)
			r.metrics.Retries.WithLabelValues(op).Inc()
		},
		OnRecover: func(int) {
			r.health.recovered(op)
			r.log.Info("recovered", "operation", op)
		},
	}
}

func (r retrier) do(ctx context.Context, op, kind string, fn func(context.Context) error) error {
	err := r.policy(op, kind).Do(ctx, fn)
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("%s (not retryable): %w", op, err)
	}
	return err
}
