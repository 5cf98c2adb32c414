// Package kafkaclient holds what ingest and aggregate share about reaching
// Kafka: the broker list, TLS and SASL settings (with secrets from the
// environment or files), and creating the posts topic and its dead-letter
// topic when they are missing. Producing lives in ingest, consuming in
// aggregate; both build their kafka-go clients from a Config here.
package kafkaclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"tagpulse/internal/command"
	"tagpulse/internal/retry"
)

// DefaultTopic is the topic posts travel on; its dead-letter topic is
// DefaultTopic + DLQSuffix.
const (
	DefaultTopic = "posts"
	DLQSuffix    = ".dlq"
)

// Config says how to reach the Kafka cluster.
type Config struct {
	Brokers    []string
	Topic      string
	Partitions int
	// Retention and DLQRetention are set on the posts topic and its
	// dead-letter topic when EnsureTopics creates them; zero leaves the
	// broker's default. A topic that exists keeps its own.
	Retention, DLQRetention time.Duration

	TLS                bool
	TLSCAFile          string
	TLSCertFile        string
	TLSKeyFile         string
	TLSInsecureSkipVer bool

	// SASLMechanism is "", "plain", "scram-sha-256" or "scram-sha-512".
	SASLMechanism string
	SASLUsername  string
	// saslPassword comes from KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE,
	// never from a flag, so it does not show in a process listing.
	saslPassword string
}

// RegisterFlags adds the Kafka flags, each with its environment variable.
func (c *Config) RegisterFlags(s *command.FlagSet) {
	s.Strings(&c.Brokers, "kafka-brokers", "KAFKA_BROKERS", []string{"127.0.0.1:9092"}, "Kafka bootstrap brokers")
	s.String(&c.Topic, "kafka-topic", "KAFKA_TOPIC", DefaultTopic, "topic that carries posts")
	s.Int(&c.Partitions, "partitions", "KAFKA_PARTITIONS", 6, "partitions of the topic when it is created")
	s.Duration(&c.Retention, "kafka-retention", "KAFKA_RETENTION", DefaultRetention, "retention.ms of the posts topic when it is created: how far back replay and rebuild can read; 0 leaves the broker's default")
	s.Duration(&c.DLQRetention, "kafka-dlq-retention", "KAFKA_DLQ_RETENTION", DefaultDLQRetention, "retention.ms of the dead-letter topic when it is created; 0 leaves the broker's default")
	s.Bool(&c.TLS, "kafka-tls", "KAFKA_TLS", false, "connect to Kafka over TLS")
	s.String(&c.TLSCAFile, "kafka-tls-ca", "KAFKA_TLS_CA_FILE", "", "PEM file of CAs to trust instead of the system's")
	s.String(&c.TLSCertFile, "kafka-tls-cert", "KAFKA_TLS_CERT_FILE", "", "PEM client certificate")
	s.String(&c.TLSKeyFile, "kafka-tls-key", "KAFKA_TLS_KEY_FILE", "", "PEM client key")
	s.Bool(&c.TLSInsecureSkipVer, "kafka-tls-insecure-skip-verify", "KAFKA_TLS_INSECURE_SKIP_VERIFY", false, "do not verify the broker certificate (testing only)")
	s.String(&c.SASLMechanism, "kafka-sasl-mechanism", "KAFKA_SASL_MECHANISM", "", "SASL mechanism: plain, scram-sha-256 or scram-sha-512")
	s.String(&c.SASLUsername, "kafka-sasl-username", "KAFKA_SASL_USERNAME", "", "SASL user (password from KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE)")
}

// Validate checks the settings and loads the SASL password.
func (c *Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("kafka: no brokers (set --kafka-brokers or KAFKA_BROKERS)")
	}
	if strings.TrimSpace(c.Topic) == "" {
		return errors.New("kafka: empty topic")
	}
	if c.Partitions < 1 {
		return fmt.Errorf("kafka: --partitions must be at least 1, got %d", c.Partitions)
	}
	if c.Retention < 0 || c.DLQRetention < 0 {
		return fmt.Errorf("kafka: --kafka-retention and --kafka-dlq-retention must not be negative, got %s and %s", c.Retention, c.DLQRetention)
	}
	switch strings.ToLower(c.SASLMechanism) {
	case "":
	case "plain", "scram-sha-256", "scram-sha-512":
		if c.SASLUsername == "" {
			return errors.New("kafka: SASL needs --kafka-sasl-username")
		}
		pw, err := command.Secret("KAFKA_SASL_PASSWORD")
		if err != nil {
			return fmt.Errorf("kafka: %w", err)
		}
		c.saslPassword = pw
	default:
		return fmt.Errorf("kafka: unknown SASL mechanism %q (want plain, scram-sha-256 or scram-sha-512)", c.SASLMechanism)
	}
	return nil
}

// DLQTopic is the dead-letter topic of the posts topic.
func (c *Config) DLQTopic() string { return c.Topic + DLQSuffix }

func (c *Config) tlsConfig() (*tls.Config, error) {
	if !c.TLS {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLSInsecureSkipVer} //nolint:gosec // opt-in for tests
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: reading TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka: no certificate in %s", c.TLSCAFile)
		}
		cfg.RootCAs = pool
	}
	if c.TLSCertFile != "" || c.TLSKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: loading TLS client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func (c *Config) saslMechanism() (sasl.Mechanism, error) {
	switch strings.ToLower(c.SASLMechanism) {
	case "":
		return nil, nil
	case "plain":
		return plain.Mechanism{Username: c.SASLUsername, Password: c.saslPassword}, nil
	case "scram-sha-256":
		m, err := scram.Mechanism(scram.SHA256, c.SASLUsername, c.saslPassword)
		if err != nil {
			return nil, fmt.Errorf("kafka: SCRAM setup: %w", err)
		}
		return m, nil
	case "scram-sha-512":
		m, err := scram.Mechanism(scram.SHA512, c.SASLUsername, c.saslPassword)
		if err != nil {
			return nil, fmt.Errorf("kafka: SCRAM setup: %w", err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("kafka: unknown SASL mechanism %q", c.SASLMechanism)
}

// connSecurity returns the TLS configuration (nil for plaintext) and the
// SASL mechanism (nil for none) that every kind of connection uses.
func (c *Config) connSecurity() (*tls.Config, sasl.Mechanism, error) {
	tlsCfg, err := c.tlsConfig()
	if err != nil {
		return nil, nil, err
	}
	mech, err := c.saslMechanism()
	if err != nil {
		return nil, nil, err
	}
	return tlsCfg, mech, nil
}

// Transport returns a kafka-go transport for Writers and Clients.
func (c *Config) Transport() (*kafka.Transport, error) {
	tlsCfg, mech, err := c.connSecurity()
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{
		Dial:        (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		DialTimeout: 10 * time.Second,
		IdleTimeout: 30 * time.Second,
		MetadataTTL: 15 * time.Second,
		TLS:         tlsCfg,
		SASL:        mech,
		ClientID:    "tagpulse",
	}, nil
}

// Dialer returns a kafka-go dialer for Readers and Conns.
func (c *Config) Dialer() (*kafka.Dialer, error) {
	tlsCfg, mech, err := c.connSecurity()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{
		Timeout:       10 * time.Second,
		DualStack:     true,
		TLS:           tlsCfg,
		SASLMechanism: mech,
		ClientID:      "tagpulse",
	}, nil
}

// Client returns a kafka-go client for admin and metadata requests.
func (c *Config) Client() (*kafka.Client, error) {
	tr, err := c.Transport()
	if err != nil {
		return nil, err
	}
	return &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: tr, Timeout: 15 * time.Second}, nil
}

// EnsureTopics creates each topic with the configured partition count and
// retention (RetentionFor) when it is missing. A topic that exists already
// is left as it is: its retention is whatever it was given then
// (TopicRetention reads it). It asks for the cluster's metadata first,
// because CreateTopics reports a refused connection, a wrong password and a
// protocol mismatch all alike ("[8] Broker Not Available"), while the
// metadata request's error tells them apart (see Ping).
func (c *Config) EnsureTopics(ctx context.Context, topics ...string) error {
	client, err := c.Client()
	if err != nil {
		return err
	}
	if err := c.ping(ctx, client); err != nil {
		return err
	}
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		req.Topics = append(req.Topics, kafka.TopicConfig{
			Topic: t, NumPartitions: c.Partitions, ReplicationFactor: -1, ConfigEntries: c.topicConfigs(t),
		})
	}
	resp, err := client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("creating topics %v on %v (%s): %w", topics, c.Brokers, c.security(), err)
	}
	var created []string
	for topic, terr := range resp.Errors {
		switch {
		case terr == nil:
			created = append(created, topic)
		case !errors.Is(terr, kafka.TopicAlreadyExists):
			return fmt.Errorf("creating topic %s: %w", topic, terr)
		}
	}
	if len(created) == 0 {
		return nil
	}
	return waitForLeaders(ctx, client, created)
}

// leaderWait bounds how long EnsureTopics waits for the partitions of the
// topics it created to have leaders.
const leaderWait = 30 * time.Second

// waitForLeaders waits until every partition of topics answers a
// ListOffsets request. A topic exists as soon as CreateTopics returns, but
// its partitions elect their leaders a moment later: a query sent before
// fails with "Not Leader For Partition" (or "Unknown Topic Or Partition"),
// which made `aggregate run --until-caught-up` on a new topic fail.
func waitForLeaders(ctx context.Context, client *kafka.Client, topics []string) error {
	ctx, cancel := context.WithTimeout(ctx, leaderWait)
	defer cancel()
	p := retry.Policy{Backoff: retry.Backoff{Min: 20 * time.Millisecond, Max: time.Second}}
	err := p.Do(ctx, func(ctx context.Context) error {
		for _, t := range topics {
			parts, err := Partitions(ctx, client, t)
			if err != nil {
				return err
			}
			if len(parts) == 0 {
				return fmt.Errorf("topic %s: no partition in the metadata yet", t)
			}
			if _, err := LogOffsets(ctx, client, t, parts); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the partition leaders of new topics %v: %w", topics, err)
	}
	return nil
}

// security describes how the client connects, for errors: a broker that
// does not speak the configured TLS or SASL answers with errors that do
// not say so. It never includes the password.
func (c *Config) security() string {
	tls := "plaintext"
	if c.TLS {
		tls = "TLS"
	}
	if c.SASLMechanism == "" {
		return tls + ", no SASL"
	}
	return fmt.Sprintf("%s, SASL %s as %q", tls, strings.ToLower(c.SASLMechanism), c.SASLUsername)
}

// Ping sends a Metadata request and reports whether the cluster answered.
// A failure to connect matches ErrUnreachable, ErrAuthentication or
// ErrSecurityMismatch, and says what to check.
func (c *Config) Ping(ctx context.Context) error {
	client, err := c.Client()
	if err != nil {
		return err
	}
	return c.ping(ctx, client)
}

func (c *Config) ping(ctx context.Context, client *kafka.Client) error {
	if _, err := client.Metadata(ctx, &kafka.MetadataRequest{}); err != nil {
		return fmt.Errorf("kafka metadata request to %v (%s): %w", c.Brokers, c.security(), c.explain(err))
	}
	return nil
}
