// Package chinsert writes rows to a ClickHouse table whole columns at a
// time, in one INSERT: the shape every batch of tagpulse takes (mentions,
// posts, deletions, rollup marks). Appending whole columns skips the
// per-row, per-value type switches of a row-wise append, which dominated
// the aggregator's insert CPU (BENCHMARKS.md).
package chinsert

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Columns inserts into table the rows given column by column (each a
// slice, all of one length), in the order of columns, a comma-separated
// list of the table's columns. Settings travel in ctx
// (clickhouse.Context). table and columns are spliced into the SQL: pass
// only fixed names.
func Columns(ctx context.Context, conn driver.Conn, table, columns string, cols ...any) error {
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+columns+")")
	if err != nil {
		return fmt.Errorf("preparing insert into %s: %w", table, err)
	}
	defer batch.Abort()
	for i, col := range cols {
		if err := batch.Column(i).Append(col); err != nil {
			return fmt.Errorf("appending column %d to insert into %s: %w", i, table, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	return nil
}
