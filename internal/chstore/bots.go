package chstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// addBotColumn is the step of migration 0007: mentions gains bot, unless
// it has it (a migrator that ran at the same time added it first).
func addBotColumn(ctx context.Context, conn driver.Conn, database string, _ io.Writer) error {
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = ? AND table = 'mentions' AND name = 'bot'", database).Scan(&n); err != nil {
		return fmt.Errorf("looking for mentions.bot: %w", err)
	}
	if n > 0 {
		return nil
	}
	err := conn.Exec(ctx, "ALTER TABLE mentions ADD COLUMN bot UInt8 DEFAULT 0")
	var ex *clickhouse.Exception
	if errors.As(err, &ex) && (ex.Code == 44 || ex.Code == 15) { // added meanwhile: ILLEGAL_COLUMN (18.16), DUPLICATE_COLUMN (26.9)
		return nil
	}
	if err != nil {
		return fmt.Errorf("adding mentions.bot: %w", err)
	}
	return nil
}
