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
	"strconv"
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
// (what follows "ENGINE = "), or "" for a table without one (a view).
func Of(ctx context.Context, conn driver.Conn, table string) (string, error) {
	_, engine, err := Definition(ctx, conn, table)
	return engine, err
}

// Definition returns the column list of table, in its parentheses, and its
// engine clause, as its CREATE statement gives them; the engine is "" for
// a table without one (a view). It asks SHOW CREATE TABLE, not
// system.tables: on 18.16 a read of system.tables fails when another
// table is dropped while it runs, as the rollup workers' staging tables
// are.
func Definition(ctx context.Context, conn driver.Conn, table string) (columns, engine string, err error) {
	var create string
	if err := conn.QueryRow(ctx, "SHOW CREATE TABLE "+table).Scan(&create); err != nil {
		return "", "", fmt.Errorf("reading the definition of %s: %w", table, err)
	}
	columns, engine, _ = Split(create)
	return columns, engine, nil
}

// Split cuts a CREATE TABLE statement into its column list, from its
// opening parenthesis up to the engine, and its engine clause (what
// follows "ENGINE = "); ok is false when it has no engine or no column
// list. Current releases spread the statement over lines; 18.16 writes
// one: both come out on one line.
func Split(create string) (columns, engine string, ok bool) {
	create = strings.Join(strings.Fields(create), " ")
	head, engine, hasEngine := strings.Cut(create, " ENGINE = ")
	open := strings.Index(head, "(")
	if !hasEngine || open < 0 {
		return "", engine, false
	}
	return head[open:], engine, true
}

// granularitySetting finds the index granularity in an engine clause.
var granularitySetting = regexp.MustCompile(`index_granularity\s*=\s*(\d+)`)

// defaultGranularity is ClickHouse's index granularity where a table
// names none.
const defaultGranularity = 8192

// Granularity is the index granularity (rows per granule) of a MergeTree
// engine clause.
func Granularity(engineFull string) int {
	m := granularitySetting.FindStringSubmatch(engineFull)
	if m == nil {
		return defaultGranularity
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return defaultGranularity
	}
	return n
}

// WithGranularity is engineFull with its index granularity set to rows.
func WithGranularity(engineFull string, rows int) string {
	setting := "index_granularity = " + strconv.Itoa(rows)
	switch {
	case granularitySetting.MatchString(engineFull):
		return granularitySetting.ReplaceAllString(engineFull, setting)
	case strings.Contains(engineFull, " SETTINGS "):
		return strings.Replace(engineFull, " SETTINGS ", " SETTINGS "+setting+", ", 1)
	}
	return engineFull + " SETTINGS " + setting
}
