package chstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// unreachableCodes are the ClickHouse errors of a server that could not
// reach another: ALL_CONNECTION_TRIES_FAILED, NETWORK_ERROR,
// SOCKET_TIMEOUT.
var unreachableCodes = map[int32]bool{279: true, 210: true, 209: true}

// probeTimeout bounds the check of each replica after such an error.
const probeTimeout = 2 * time.Second

// ExplainUnreachable returns err naming the shards of cfg.Cluster that no
// replica answers for, when err says a server could not be reached; err
// itself otherwise, and on one server. A read through the Distributed
// tables fails while a shard is down (tagpulse never answers with part of
// the shards), and this says which.
func ExplainUnreachable(ctx context.Context, cfg Config, err error) error {
	var ex *clickhouse.Exception
	if err == nil || cfg.Cluster == "" || !errors.As(err, &ex) || !unreachableCodes[ex.Code] {
		return err
	}
	down, perr := DownShards(ctx, cfg)
	if perr != nil || len(down) == 0 {
		return err
	}
	return fmt.Errorf("%s: %w", strings.Join(down, "; "), err)
}

// DownShards checks every replica of every shard of cfg.Cluster and
// describes each shard none of whose replicas answers.
func DownShards(ctx context.Context, cfg Config) ([]string, error) {
	opts, members, err := clusterMembers(ctx, cfg)
	if err != nil {
		return nil, err
	}
	probes := make([]error, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := *opts
			o.Addr = []string{m.addr}
			o.Auth.Database = "default"
			o.DialTimeout = probeTimeout
			o.Settings = nil
			pctx, cancel := context.WithTimeout(ctx, probeTimeout)
			defer cancel()
			c, err := openOptions(pctx, &o)
			if err == nil {
				c.Close()
			}
			probes[i] = err
		}()
	}
	wg.Wait()
	var (
		down    []string
		silent  []string
		answers bool
	)
	for i, m := range members {
		if probes[i] == nil {
			answers = true
		} else {
			silent = append(silent, m.addr)
		}
		if i+1 == len(members) || members[i+1].shard != m.shard {
			if !answers {
				down = append(down, fmt.Sprintf("shard %d of cluster %s is down: no replica answers (%s)", m.shard, cfg.Cluster, strings.Join(silent, ", ")))
			}
			silent, answers = nil, false
		}
	}
	return down, nil
}

// explainingConn is a connection to a cluster's Distributed tables whose
// errors name the shards that are down (ExplainUnreachable).
type explainingConn struct {
	driver.Conn
	cfg Config
}

// Explaining returns conn with its query errors explained as
// ExplainUnreachable does; conn itself on one server.
func Explaining(conn driver.Conn, cfg Config) driver.Conn {
	if cfg.Cluster == "" {
		return conn
	}
	return explainingConn{Conn: conn, cfg: cfg}
}

func (c explainingConn) Query(ctx context.Context, query string, args ...any) (driver.Rows, error) {
	rows, err := c.Conn.Query(ctx, query, args...)
	if err != nil {
		return nil, ExplainUnreachable(ctx, c.cfg, err)
	}
	return explainingRows{Rows: rows, ctx: ctx, cfg: c.cfg}, nil
}

// explainingRows are the rows of an explainingConn: a shard that fails
// while they stream fails Err.
type explainingRows struct {
	driver.Rows
	ctx context.Context
	cfg Config
}

func (r explainingRows) Err() error { return ExplainUnreachable(r.ctx, r.cfg, r.Rows.Err()) }

func (c explainingConn) QueryRow(ctx context.Context, query string, args ...any) driver.Row {
	return explainingRow{Row: c.Conn.QueryRow(ctx, query, args...), ctx: ctx, cfg: c.cfg}
}

func (c explainingConn) Select(ctx context.Context, dest any, query string, args ...any) error {
	return ExplainUnreachable(ctx, c.cfg, c.Conn.Select(ctx, dest, query, args...))
}

func (c explainingConn) Exec(ctx context.Context, query string, args ...any) error {
	return ExplainUnreachable(ctx, c.cfg, c.Conn.Exec(ctx, query, args...))
}

// explainingRow is a row of an explainingConn.
type explainingRow struct {
	driver.Row
	ctx context.Context
	cfg Config
}

func (r explainingRow) Err() error { return ExplainUnreachable(r.ctx, r.cfg, r.Row.Err()) }

func (r explainingRow) Scan(dest ...any) error {
	return ExplainUnreachable(r.ctx, r.cfg, r.Row.Scan(dest...))
}

func (r explainingRow) ScanStruct(dest any) error {
	return ExplainUnreachable(r.ctx, r.cfg, r.Row.ScanStruct(dest))
}
