// Package chengine rewrites the engine clause of a MergeTree-family
// ClickHouse table, as system.tables.engine_full gives it, into its
// replicated twin (for the schema on a cluster) or back into the plain one
// (for a staging table beside a replicated table), and reads a table's
// engine clause.
package chengine

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// mergeTreeEngine matches an engine of the MergeTree family as
// system.tables.engine_full writes it: its name, its arguments (18.16
// writes "MergeTree()", current releases "MergeTree" when there are none),
// the rest.
var mergeTreeEngine = regexp.MustCompile(`^(Replicated)?(\w*MergeTree)(?:\(([^()]*)\))?(.*)$`)

// Replicated is engineFull, a MergeTree-family engine, as its
// replicated twin whose replicas coordinate under zkPath and name
// themselves by the {replica} macro.
func Replicated(engineFull, zkPath string) (string, error) {
	m := mergeTreeEngine.FindStringSubmatch(engineFull)
	if m == nil || m[1] != "" {
		return "", fmt.Errorf("engine %q: want a MergeTree-family engine that is not replicated yet", engineFull)
	}
	args := "'" + zkPath + "', '{replica}'"
	if m[3] != "" {
		args += ", " + m[3]
	}
	return "Replicated" + m[2] + "(" + args + ")" + m[4], nil
}

// Plain is engineFull without replication: the engine of a staging
// table beside a replicated one, which must not join its replicas.
func Plain(engineFull string) (string, error) {
	m := mergeTreeEngine.FindStringSubmatch(engineFull)
	if m == nil {
		return "", fmt.Errorf("engine %q: want a MergeTree-family engine", engineFull)
	}
	if m[1] == "" {
		return engineFull, nil
	}
	// The first two arguments are the coordination path and the replica.
	args := strings.SplitN(m[3], ",", 3)
	if len(args) < 2 {
		return "", fmt.Errorf("engine %q: a replicated engine without its path and replica", engineFull)
	}
	rest := ""
	if len(args) == 3 {
		rest = strings.TrimSpace(args[2])
	}
	return m[2] + "(" + rest + ")" + m[4], nil
}

// Of returns the engine clause of table as its CREATE statement gives it
// (what follows "ENGINE = "), or "" for a table without one (a view). It
// asks SHOW CREATE TABLE, not system.tables: on 18.16 a read of
// system.tables fails when another table is dropped while it runs, as the
// rollup workers' staging tables are.
func Of(ctx context.Context, conn driver.Conn, table string) (string, error) {
	var create string
	if err := conn.QueryRow(ctx, "SHOW CREATE TABLE "+table).Scan(&create); err != nil {
		return "", fmt.Errorf("reading the definition of %s: %w", table, err)
	}
	// Current releases spread the statement over lines; 18.16 writes one.
	create = strings.Join(strings.Fields(create), " ")
	_, engine, ok := strings.Cut(create, " ENGINE = ")
	if !ok {
		return "", nil
	}
	return engine, nil
}
