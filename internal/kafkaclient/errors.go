package kafkaclient

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/segmentio/kafka-go"
)

// Errors a connection to the cluster ends with, checked with errors.Is.
// Each names a different thing for the operator to fix; kafka-go reports
// all three through CreateTopics as "[8] Broker Not Available".
var (
	// ErrUnreachable: nothing accepted the connection (refused, no route,
	// or no answer before the timeout). Kafka is down or the address is
	// wrong.
	ErrUnreachable = errors.New("kafka broker unreachable")
	// ErrAuthentication: the broker refused the SASL user name or
	// password.
	ErrAuthentication = errors.New("kafka SASL authentication failed")
	// ErrSecurityMismatch: the listener speaks another protocol than the
	// one configured (SASL or TLS against a plaintext listener, or
	// plaintext against a TLS one).
	ErrSecurityMismatch = errors.New("kafka listener security does not match the configuration")
)

// connError is a connection failure explained: the sentinel it matches,
// what to change, and the client's own error below.
type connError struct {
	kind error
	hint string
	err  error
}

func (e *connError) Error() string   { return fmt.Sprintf("%v: %s: %v", e.kind, e.hint, e.err) }
func (e *connError) Unwrap() []error { return []error{e.kind, e.err} }

// explain turns the errors a first request to the cluster fails with into
// one of the sentinels above, with what to check; other errors are
// returned as they are.
func (c *Config) explain(err error) error {
	if err == nil {
		return nil
	}
	var ke kafka.Error
	isKafka := errors.As(err, &ke)
	switch {
	case isKafka && ke == kafka.SASLAuthenticationFailed:
		return &connError{ErrAuthentication, fmt.Sprintf("the broker refused user %q with SASL %s; check --kafka-sasl-username and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)",
			c.SASLUsername, strings.ToLower(c.SASLMechanism)), err}
	case isKafka && (ke == kafka.IllegalSASLState || ke == kafka.UnsupportedSASLMechanism):
		return &connError{ErrSecurityMismatch, fmt.Sprintf("the listener at %s does not take SASL %s; it is probably a plaintext listener: use the broker's SASL port or drop --kafka-sasl-mechanism",
			strings.Join(c.Brokers, ","), strings.ToLower(c.SASLMechanism)), err}
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return &connError{ErrUnreachable, fmt.Sprintf("nothing accepts connections at %s; is Kafka running, and are --kafka-brokers right?", strings.Join(c.Brokers, ",")), err}
	case !c.TLS && errors.Is(err, io.ErrUnexpectedEOF) && strings.Contains(err.Error(), "TLS"):
		return &connError{ErrSecurityMismatch, fmt.Sprintf("the listener at %s expects TLS; set --kafka-tls (KAFKA_TLS=true) or use its plaintext port", strings.Join(c.Brokers, ",")), err}
	case c.TLS && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "first record does not look like a TLS handshake")):
		return &connError{ErrSecurityMismatch, fmt.Sprintf("the listener at %s closed the TLS handshake; it is probably a plaintext listener: use the broker's TLS port or drop --kafka-tls", strings.Join(c.Brokers, ",")), err}
	}
	return err
}
