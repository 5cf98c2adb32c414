package kafkaclient_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/testkit/stacktest"
)

// TestConnectionErrorsSayWhatIsWrong connects to the local broker in the
// ways an operator gets wrong and checks that creating the topics (the
// first thing ingest and aggregate do, which kafka-go reports as "[8]
// Broker Not Available" in every case) fails with an error that matches
// its own sentinel and names what to change, each different from the
// others.
func TestConnectionErrorsSayWhatIsWrong(t *testing.T) {
	plain := stacktest.Kafka(t, 1)
	caFile := filepath.Join(stacktest.RepoRoot(t), ".stack", "kafka", "tls", "ca.pem")
	if _, err := os.Stat(caFile); err != nil {
		t.Fatalf("the stack's CA is missing (%v); run scripts/stack up", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A user of its own, so that the SASL test's users and their passwords,
	// which it sets anew, are not touched.
	scramUser, scramPassword := stacktest.UniqueName("connerr"), randomHex(t)
	upsertScramUsers(ctx, t, plain, map[string]kafka.ScramMechanism{scramUser: kafka.ScramMechanismSha256}, scramPassword)
	t.Cleanup(func() { deleteScramUser(t, plain, scramUser, kafka.ScramMechanismSha256) })
	refused := stacktest.FreeAddr(t)

	tests := []struct {
		name     string
		cfg      kafkaclient.Config
		password string
		want     error
		says     string
	}{
		{"wrong SCRAM password", kafkaclient.Config{Brokers: []string{secureAddr}, TLS: true, TLSCAFile: caFile, SASLMechanism: "scram-sha-256", SASLUsername: scramUser},
			"wrong-" + scramPassword, kafkaclient.ErrAuthentication, `refused user "` + scramUser + `"`},
		{"SASL against the plaintext listener", kafkaclient.Config{Brokers: plain.Brokers, SASLMechanism: "scram-sha-256", SASLUsername: scramUser},
			scramPassword, kafkaclient.ErrSecurityMismatch, "does not take SASL"},
		{"TLS against the plaintext listener", kafkaclient.Config{Brokers: plain.Brokers, TLS: true, TLSCAFile: caFile},
			"", kafkaclient.ErrSecurityMismatch, "drop --kafka-tls"},
		{"plaintext against the TLS listener", kafkaclient.Config{Brokers: []string{secureAddr}},
			"", kafkaclient.ErrSecurityMismatch, "set --kafka-tls"},
		{"refused connection", kafkaclient.Config{Brokers: []string{refused}},
			"", kafkaclient.ErrUnreachable, "nothing accepts connections at " + refused},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KAFKA_SASL_PASSWORD", tt.password)
			cfg := tt.cfg
			cfg.Topic, cfg.Partitions = stacktest.UniqueName("connerr"), 1
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			err := cfg.EnsureTopics(ctx, cfg.Topic)
			if err == nil {
				t.Fatal("creating a topic succeeded")
			}
			msg := err.Error()
			t.Log(msg)
			if !errors.Is(err, tt.want) || !strings.Contains(msg, tt.says) {
				t.Errorf("error %q\nwant one matching %v and saying %q", msg, tt.want, tt.says)
			}
			if strings.Contains(msg, "Broker Not Available") {
				t.Errorf("error %q still blames broker availability", msg)
			}
			if tt.password != "" && strings.Contains(msg, tt.password) {
				t.Errorf("error %q shows the password", msg)
			}
			if other, dup := seen[tt.says]; dup {
				t.Errorf("same advice as %s", other)
			}
			seen[tt.says] = tt.name
		})
	}
}

// deleteScramUser removes a SCRAM user made by upsertScramUsers.
func deleteScramUser(t *testing.T, plain *kafkaclient.Config, user string, mech kafka.ScramMechanism) {
	client, err := plain.Client()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := client.AlterUserScramCredentials(ctx, &kafka.AlterUserScramCredentialsRequest{
		Deletions: []kafka.UserScramCredentialsDeletion{{Name: user, Mechanism: mech}},
	}); err != nil {
		t.Logf("deleting SCRAM user %s: %v", user, err)
	}
}
