package aggregatecli

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/testkit/stacktest"
)

// TestReplayRejectsTimesKafkaCannotSelect gives replay times outside what a
// Kafka timestamp (milliseconds since 1970 that kafka-go computes through
// time.UnixNano) can hold. Each fails before Kafka is asked, naming the
// flag and the range, where the broker used to answer "Unsupported
// Version" or select the wrong offsets. A broker that is not there is
// named as such.
func TestReplayRejectsTimesKafkaCannotSelect(t *testing.T) {
	k := stacktest.Kafka(t, 1)
	cfg, _ := stacktest.MigratedClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	refused := stacktest.FreeAddr(t)
	for _, tt := range []struct {
		name string
		args []string
		says string
	}{
		{"until after 2262", []string{"--since", "1h", "--until", "2262-04-12"}, "--until: 2262-04-12T00:00:00Z is outside"},
		{"until after 2262, RFC 3339", []string{"--since", "1h", "--until", "2262-04-12T00:00:00Z"}, "--until: 2262-04-12T00:00:00Z is outside"},
		{"since before 1970", []string{"--since", "1969-12-31T23:00:00Z"}, "--since: 1969-12-31T23:00:00Z is outside"},
		{"until before since", []string{"--since", "2025-01-02", "--until", "2025-01-01"}, "--until must be after --since"},
		{"not a time", []string{"--since", "yesterday"}, `--since: "yesterday" is neither`},
		{"no broker there", []string{"--since", "1h", "--kafka-brokers", refused}, "kafka broker unreachable: nothing accepts connections at " + refused},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := New()
			var out, errOut bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			args := []string{"replay", "--kafka-topic", k.Topic, "--clickhouse-dsn", cfg.DSN}
			if !slices.Contains(tt.args, "--kafka-brokers") { // the flag adds to a list
				args = append(args, "--kafka-brokers", strings.Join(k.Brokers, ","))
			}
			cmd.SetArgs(append(args, tt.args...))
			err := cmd.ExecuteContext(ctx)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("error %v, want one saying %q", err, tt.says)
			}
			if strings.Contains(err.Error(), "outside") && !errors.Is(err, kafkaclient.ErrTimestampRange) {
				t.Errorf("error %v does not match kafkaclient.ErrTimestampRange", err)
			}
		})
	}
}
