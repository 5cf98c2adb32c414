package publish

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"broker refused the connection", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"connection reset, wrapped", fmt.Errorf("produce: %w", syscall.ECONNRESET), true},
		{"broker closed the connection", io.EOF, true},
		{"leader moved", kafka.NotLeaderForPartition, true},
		{"too few in-sync replicas", kafka.NotEnoughReplicas, true},
		{"leader not elected yet", kafka.LeaderNotAvailable, true},
		{"message too large", kafka.MessageSizeTooLarge, false},
		{"not authorized", kafka.TopicAuthorizationFailed, false},
		{"unknown failure", errors.New("encoding failed"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryable(tt.err); got != tt.want {
				t.Errorf("retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
