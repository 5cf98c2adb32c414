package kafkaclient_test

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/testkit/stacktest"
)

// secureAddr is the local stack's SASL_SSL listener (scripts/stack).
const secureAddr = "127.0.0.1:9094"

// TestSASLOverTLSAgainstTheLocalBroker proves the TLS and SASL options
// against the real broker: for PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 it
// creates the topic, produces and consumes in a group over TLS verified
// with the stack's CA, and checks that a wrong password and an unknown CA
// are refused without the password showing in the error.
func TestSASLOverTLSAgainstTheLocalBroker(t *testing.T) {
	plain := stacktest.Kafka(t, 1)
	tlsDir := filepath.Join(stacktest.RepoRoot(t), ".stack", "kafka", "tls")
	caFile := filepath.Join(tlsDir, "ca.pem")
	plainPassword, err := os.ReadFile(filepath.Join(tlsDir, "sasl.password"))
	if err != nil {
		t.Fatalf("the stack's SASL password is missing (%v); run scripts/stack up", err)
	}
	if c, err := net.DialTimeout("tcp", secureAddr, 2*time.Second); err != nil {
		t.Fatalf("no SASL_SSL listener on %s (%v); run scripts/stack up, which restarts a broker started with an older configuration", secureAddr, err)
	} else {
		c.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	scramPassword := randomHex(t)
	scramUsers := map[string]kafka.ScramMechanism{"tagpulse-scram-256": kafka.ScramMechanismSha256, "tagpulse-scram-512": kafka.ScramMechanismSha512}
	upsertScramUsers(ctx, t, plain, scramUsers, scramPassword)

	tests := []struct {
		mechanism, user, password string
	}{
		{"plain", "tagpulse", strings.TrimSpace(string(plainPassword))},
		{"scram-sha-256", "tagpulse-scram-256", scramPassword},
		{"scram-sha-512", "tagpulse-scram-512", scramPassword},
	}
	for _, tt := range tests {
		t.Run(tt.mechanism, func(t *testing.T) {
			cfg := &kafkaclient.Config{
				Brokers: []string{secureAddr}, Topic: stacktest.UniqueName("secure"), Partitions: 1,
				TLS: true, TLSCAFile: caFile, SASLMechanism: tt.mechanism, SASLUsername: tt.user,
			}
			t.Setenv("KAFKA_SASL_PASSWORD", tt.password)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			if err := cfg.EnsureTopics(ctx, cfg.Topic); err != nil {
				t.Fatalf("creating a topic over SASL_SSL: %v", err)
			}
			t.Cleanup(func() { deleteTopic(t, plain, cfg.Topic) })
			roundTrip(ctx, t, cfg)

			t.Setenv("KAFKA_SASL_PASSWORD", "wrong-"+tt.password)
			bad := *cfg
			if err := bad.Validate(); err != nil {
				t.Fatal(err)
			}
			err := bad.Ping(ctx)
			if err == nil {
				t.Fatal("a wrong password was accepted")
			}
			if strings.Contains(err.Error(), tt.password) {
				t.Fatalf("the error shows the password: %v", err)
			}
		})
	}

	t.Run("unknown CA", func(t *testing.T) {
		t.Setenv("KAFKA_SASL_PASSWORD", tests[0].password)
		cfg := &kafkaclient.Config{Brokers: []string{secureAddr}, Topic: "x", Partitions: 1, TLS: true, SASLMechanism: "plain", SASLUsername: "tagpulse"}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		if err := cfg.Ping(ctx); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("a broker certificate from an unknown CA must be refused, got %v", err)
		}
	})
}

func roundTrip(ctx context.Context, t *testing.T, cfg *kafkaclient.Config) {
	t.Helper()
	tr, err := cfg.Transport()
	if err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(cfg.Brokers...), Topic: cfg.Topic, Transport: tr, RequiredAcks: kafka.RequireAll}
	want := "hello over " + cfg.SASLMechanism
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("k"), Value: []byte(want)}); err != nil {
		t.Fatalf("producing over SASL_SSL: %v", err)
	}
	w.Close()
	dialer, err := cfg.Dialer()
	if err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Brokers, Topic: cfg.Topic, GroupID: stacktest.UniqueName("secure"),
		Dialer: dialer, StartOffset: kafka.FirstOffset, MaxWait: 200 * time.Millisecond})
	defer r.Close()
	m, err := r.FetchMessage(ctx)
	if err != nil {
		t.Fatalf("consuming over SASL_SSL: %v", err)
	}
	if string(m.Value) != want {
		t.Fatalf("got %q, want %q", m.Value, want)
	}
	if err := r.CommitMessages(ctx, m); err != nil {
		t.Fatalf("committing over SASL_SSL: %v", err)
	}
}

// upsertScramUsers creates or updates SCRAM credentials through the
// plaintext listener (the local broker has no authorizer).
func upsertScramUsers(ctx context.Context, t *testing.T, plain *kafkaclient.Config, users map[string]kafka.ScramMechanism, password string) {
	t.Helper()
	client, err := plain.Client()
	if err != nil {
		t.Fatal(err)
	}
	req := &kafka.AlterUserScramCredentialsRequest{}
	for name, mech := range users {
		salt := make([]byte, 16)
		rand.Read(salt)
		h := sha256.New
		if mech == kafka.ScramMechanismSha512 {
			h = sha512.New
		}
		const iterations = 4096
		salted, err := pbkdf2.Key(func() hash.Hash { return h() }, password, salt, iterations, h().Size())
		if err != nil {
			t.Fatal(err)
		}
		req.Upsertions = append(req.Upsertions, kafka.UserScramCredentialsUpsertion{
			Name: name, Mechanism: mech, Iterations: iterations, Salt: salt, SaltedPassword: salted,
		})
	}
	resp, err := client.AlterUserScramCredentials(ctx, req)
	if err != nil {
		t.Fatalf("creating SCRAM users: %v", err)
	}
	for _, r := range resp.Results {
		if r.Error != nil {
			t.Fatalf("creating SCRAM user %s: %v", r.User, r.Error)
		}
	}
	// Credentials reach the SASL listener through the metadata log; give
	// it a moment rather than failing the first login.
	time.Sleep(time.Second)
}

func deleteTopic(t *testing.T, plain *kafkaclient.Config, topic string) {
	client, err := plain.Client()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}})
}

func randomHex(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
