// Package chstore is tagpulse's ClickHouse storage: connecting from a DSN,
// the versioned schema (migrations/*.sql, applied by `aggregate migrate`),
// and the tables the aggregator writes and the trend queries read.
//
// The SQL stays inside the subset that both ClickHouse 18.16 and current
// releases understand; make test runs it on 18.16 and 26.9.
// docs/clickhouse-versions.md lists the subset and why, docs/design.md
// the contracts.
package chstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/command"
)

// DefaultDSN reaches the local stack's ClickHouse.
const DefaultDSN = "clickhouse://default:@127.0.0.1:9000/tagpulse"

// DefaultDialTimeout bounds connecting to ClickHouse, handshake included,
// unless the DSN sets dial_timeout.
const DefaultDialTimeout = 5 * time.Second

// Config says how to reach ClickHouse.
type Config struct {
	// DSN is a clickhouse-go DSN; its database is created by Migrate when
	// missing. The password may instead come from CLICKHOUSE_PASSWORD or
	// CLICKHOUSE_PASSWORD_FILE. secure=true in the DSN turns on TLS.
	DSN string
	// TLSCAFile is a PEM file of CAs that sign the server's certificate;
	// setting it turns on TLS even without secure=true in the DSN.
	TLSCAFile string
	// Cluster names the ClickHouse cluster (in the servers'
	// <remote_servers>) whose schema `aggregate migrate` made with
	// MigrateCluster; empty on a single server. Inserts through its
	// Distributed tables then return once the shard holds the rows.
	Cluster string
}

// RegisterFlags adds the ClickHouse flags.
func (c *Config) RegisterFlags(s *command.FlagSet) {
	s.String(&c.DSN, "clickhouse-dsn", "CLICKHOUSE_DSN", DefaultDSN, "ClickHouse DSN (clickhouse://user:password@host:9000/database; ?secure=true for TLS)")
	s.String(&c.TLSCAFile, "clickhouse-tls-ca", "CLICKHOUSE_TLS_CA_FILE", "", "PEM file of CAs to trust for ClickHouse TLS instead of the system's (turns TLS on)")
	s.String(&c.Cluster, "cluster", "CLICKHOUSE_CLUSTER", "", "ClickHouse cluster (a name in the servers' remote_servers) whose sharded schema migrate creates (replicated where the servers have {shard} and {replica} macros) and the others use (docs/scaling.md); empty: one server")
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// Options parses the DSN, checks the database name and applies the password
// from the environment. Errors never include the DSN, which may hold a
// password.
func (c *Config) Options() (*clickhouse.Options, error) {
	opts, err := clickhouse.ParseDSN(c.DSN)
	if err != nil {
		return nil, fmt.Errorf("parsing CLICKHOUSE_DSN: invalid DSN (value not shown)")
	}
	// A frozen server accepts TCP connections but never answers the
	// handshake: without a short dial timeout each retry would wait the
	// driver's default of 30 s. The DSN's dial_timeout still wins.
	if opts.DialTimeout == 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	if opts.Auth.Database == "" {
		opts.Auth.Database = "tagpulse"
	}
	if !identifier.MatchString(opts.Auth.Database) {
		return nil, fmt.Errorf("database name %q in CLICKHOUSE_DSN: want letters, digits and _", opts.Auth.Database)
	}
	pw, err := command.Secret("CLICKHOUSE_PASSWORD")
	if err != nil {
		return nil, err
	}
	if pw != "" {
		opts.Auth.Password = pw
	}
	if c.Cluster != "" {
		if !identifier.MatchString(c.Cluster) {
			return nil, fmt.Errorf("cluster name %q: want letters, digits and _", c.Cluster)
		}
		if opts.Settings == nil {
			opts.Settings = clickhouse.Settings{}
		}
		for k, v := range clusterSettings {
			opts.Settings[k] = v
		}
	}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("reading ClickHouse TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificate in ClickHouse TLS CA file %s", c.TLSCAFile)
		}
		if opts.TLS == nil {
			opts.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		opts.TLS.RootCAs = pool
	}
	return opts, nil
}

// Validate checks that the DSN parses.
func (c *Config) Validate() error {
	_, err := c.Options()
	return err
}

// Open connects to the database of the DSN and checks that it answers.
func Open(ctx context.Context, cfg Config) (driver.Conn, error) {
	opts, err := cfg.Options()
	if err != nil {
		return nil, err
	}
	return openOptions(ctx, opts)
}

func openOptions(ctx context.Context, opts *clickhouse.Options) (driver.Conn, error) {
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("opening ClickHouse connection to %v: %w", opts.Addr, err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("pinging ClickHouse at %v: %w", opts.Addr, err)
	}
	return conn, nil
}
