package kafkaclient

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		pwEnv   string
		wantErr string
	}{
		{name: "defaults", cfg: Config{Brokers: []string{"b:9092"}, Topic: "posts", Partitions: 6}},
		{name: "no brokers", cfg: Config{Topic: "posts", Partitions: 1}, wantErr: "no brokers"},
		{name: "no topic", cfg: Config{Brokers: []string{"b"}, Topic: " ", Partitions: 1}, wantErr: "empty topic"},
		{name: "no partitions", cfg: Config{Brokers: []string{"b"}, Topic: "t"}, wantErr: "--partitions"},
		{name: "unknown SASL", cfg: Config{Brokers: []string{"b"}, Topic: "t", Partitions: 1, SASLMechanism: "kerberos"}, wantErr: "unknown SASL"},
		{name: "SASL without user", cfg: Config{Brokers: []string{"b"}, Topic: "t", Partitions: 1, SASLMechanism: "plain"}, wantErr: "username"},
		{name: "SCRAM", cfg: Config{Brokers: []string{"b"}, Topic: "t", Partitions: 1, SASLMechanism: "SCRAM-SHA-512", SASLUsername: "u"}, pwEnv: "pw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KAFKA_SASL_PASSWORD", tt.pwEnv)
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tt.cfg.Transport(); err != nil {
					t.Fatalf("Transport: %v", err)
				}
				if _, err := tt.cfg.Dialer(); err != nil {
					t.Fatalf("Dialer: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSASLPasswordNeverInErrors(t *testing.T) {
	t.Setenv("KAFKA_SASL_PASSWORD", "")
	path := filepath.Join(t.TempDir(), "missing")
	t.Setenv("KAFKA_SASL_PASSWORD_FILE", path)
	cfg := Config{Brokers: []string{"b"}, Topic: "t", Partitions: 1, SASLMechanism: "plain", SASLUsername: "u"}
	if err := cfg.Validate(); err == nil {
		t.Fatal("want an error for a missing password file")
	}
	if err := os.WriteFile(path, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.saslPassword != "hunter2" {
		t.Fatalf("password from file not loaded")
	}
	mech, err := cfg.saslMechanism()
	if err != nil || mech.Name() != "PLAIN" {
		t.Fatalf("mechanism %v, %v", mech, err)
	}
}

func TestTLSFiles(t *testing.T) {
	cfg := Config{TLS: true, TLSCAFile: filepath.Join(t.TempDir(), "nope.pem")}
	if _, err := cfg.Transport(); err == nil || !strings.Contains(err.Error(), "CA file") {
		t.Fatalf("want a CA file error, got %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	cfg.TLSCAFile = bad
	if _, err := cfg.Dialer(); err == nil || !strings.Contains(err.Error(), "no certificate") {
		t.Fatalf("want a no-certificate error, got %v", err)
	}
	cfg = Config{TLS: true}
	tr, err := cfg.Transport()
	if err != nil || tr.TLS == nil || tr.TLS.MinVersion == 0 {
		t.Fatalf("plain TLS: %+v, %v", tr, err)
	}
}

func TestDLQTopic(t *testing.T) {
	if got := (&Config{Topic: "posts"}).DLQTopic(); got != "posts.dlq" {
		t.Fatalf("got %q", got)
	}
}

// TestCoordinatorErrorsAreRetried: the offset queries of a group wait out a
// coordinator that is not ready (as on a fresh broker), and only that.
func TestCoordinatorErrorsAreRetried(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{kafka.NotCoordinatorForGroup, true},
		{kafka.GroupCoordinatorNotAvailable, true},
		{kafka.GroupLoadInProgress, true},
		{fmt.Errorf("fetching: %w", kafka.NotCoordinatorForGroup), true},
		{kafka.UnknownTopicOrPartition, false},
		{kafka.SASLAuthenticationFailed, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := isCoordinatorError(tt.err); got != tt.want {
			t.Errorf("isCoordinatorError(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
