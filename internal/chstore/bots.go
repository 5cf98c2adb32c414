package chstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/retry"
)

// mentionsSwapWait bounds how long a migration step waits for mentions to
// come back while another migrator runs migration 4's RENAME of two
// tables, which 18.16 does not do atomically.
const mentionsSwapWait = 10 * time.Second

// addBotColumn is the step of migration 0007: mentions gains bot, unless
// it has it (a migrator that ran at the same time added it first).
func addBotColumn(ctx context.Context, conn driver.Conn, database string, _ io.Writer) error {
	deadline := time.Now().Add(mentionsSwapWait)
	for {
		cols, err := columnTypes(ctx, conn, database, "mentions")
		if err != nil {
			return fmt.Errorf("looking for mentions.bot: %w", err)
		}
		if _, ok := cols["bot"]; ok {
			return nil
		}
		if len(cols) > 0 {
			err = conn.Exec(ctx, "ALTER TABLE mentions ADD COLUMN bot UInt8 DEFAULT 0")
			var ex *clickhouse.Exception
			switch {
			case err == nil:
				return nil
			case errors.As(err, &ex) && (ex.Code == 44 || ex.Code == 15): // added meanwhile: ILLEGAL_COLUMN (18.16), DUPLICATE_COLUMN (26.9)
				return nil
			case !tableMissing(err): // swapped away meanwhile: wait below
				return fmt.Errorf("adding mentions.bot: %w", err)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("adding mentions.bot: mentions is still missing after %s (another migrator's upgrade of schema v1 did not finish)", mentionsSwapWait)
		}
		if err := retry.Sleep(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("adding mentions.bot: %w", err)
		}
	}
}
