package chstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chengine"
	"tagpulse/internal/retry"
	"tagpulse/internal/rollup"
)

// keyedRollups are the rollup tables read by tag or topic, which
// migrations 0004 and 0008 create with granules of rollupGranularity rows
// and, where they hold an accounts state, with accountCountColumn; migration
// 0009 gives them both where an older migration did not.
var keyedRollups = []string{"tag_hour", "tag_day", "tag_display_day", "topic_hour", "topic_day"}

// rollupGranularity is the index granularity of keyedRollups.
const rollupGranularity = 256

// accountCountColumn is the number an accounts state holds, written with
// the row, as migrations 0004 and 0008 define it.
const accountCountColumn = "account_count UInt64 MATERIALIZED finalizeAggregation(accounts)"

// hasColumn says whether a column list as chengine.Split gives it (either
// server's spelling) defines name.
func hasColumn(columns, name string) bool {
	return regexp.MustCompile("[(,] ?`?" + regexp.QuoteMeta(name) + "`? ").MatchString(columns)
}

// keyedColumns is the column list of a keyed rollup as migration 0009
// leaves it: with account_count where it has an accounts state.
func keyedColumns(columns string) string {
	if !hasColumn(columns, "accounts") || hasColumn(columns, "account_count") {
		return columns
	}
	body := strings.TrimSuffix(strings.TrimSpace(columns), ")")
	return strings.TrimSpace(body) + ", " + accountCountColumn + ")"
}

// regranulateWait bounds how long the step waits for another migrator
// running it at the same time to finish a table's RENAME, which 18.16
// does not do atomically.
const regranulateWait = 30 * time.Second

// regranulateRollups is the step of migration 0009: each of keyedRollups
// made with another granularity, or without account_count, is replaced by
// an empty table with both, and then every hour is marked so the rollup worker
// recomputes them from mentions. The rollups are derived, so nothing is
// lost; until the worker is done, reads take those buckets from mentions.
func regranulateRollups(ctx context.Context, conn driver.Conn, _ string, progress io.Writer) error {
	replaced := 0
	for _, table := range keyedRollups {
		did, err := regranulate(ctx, conn, table)
		if err != nil {
			return fmt.Errorf("giving %s granules of %d rows: %w", table, rollupGranularity, err)
		}
		if did {
			replaced++
			fmt.Fprintf(progress, "migrate: %s now has granules of %d rows and its account counts; its rows will be recomputed from mentions\n", table, rollupGranularity)
		}
	}
	if replaced == 0 {
		return nil
	}
	if err := rollup.MarkAll(ctx, conn); err != nil {
		return err
	}
	return rollup.MarkTopics(ctx, conn)
}

// regranulate replaces table by an empty one of rollupGranularity, with
// account_count if it has accounts, unless it has both already, and says
// whether this call did. Two
// migrators may run it at once: whichever renames first wins, and the
// other finds the table done.
func regranulate(ctx context.Context, conn driver.Conn, table string) (bool, error) {
	next, old := table+"_regranulated", table+"_before_regranulation"
	deadline := time.Now().Add(regranulateWait)
	var missingSince time.Time
	for {
		columns, engine, err := chengine.Definition(ctx, conn, table)
		var ex *clickhouse.Exception
		switch {
		case err == nil:
			want := keyedColumns(columns)
			if chengine.Granularity(engine) == rollupGranularity && want == columns {
				// Done, here or by another migrator: what a migrator
				// stopped half way left goes.
				if err := dropIfExists(ctx, conn, next); err != nil {
					return false, err
				}
				return false, dropIfExists(ctx, conn, old)
			}
			// Its columns spelled out, not AS table: on 18.16 a CREATE … AS
			// waiting on the table another migrator renames can hang.
			if err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+next+" "+want+" ENGINE = "+chengine.WithGranularity(engine, rollupGranularity)); err != nil {
				return false, fmt.Errorf("creating %s: %w", next, err)
			}
			err = conn.Exec(ctx, "RENAME TABLE "+table+" TO "+old+", "+next+" TO "+table)
			if err == nil {
				return true, dropIfExists(ctx, conn, old)
			}
			if !errors.As(err, &ex) {
				return false, fmt.Errorf("renaming %s: %w", table, err)
			}
			// Another migrator renamed first, or is between its two
			// renames: look again below.
		case !tableMissing(err):
			return false, err
		default:
			// Missing for a while, not only between two renames: the
			// second rename of a migrator that lost the race failed
			// after its first (18.16 renames one table at a time), and
			// the table waits under the old name. Put it back.
			if missingSince.IsZero() {
				missingSince = time.Now()
			} else if time.Since(missingSince) > time.Second {
				_ = conn.Exec(ctx, "RENAME TABLE "+old+" TO "+table) // fails when another migrator did it first
				missingSince = time.Time{}
			}
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("%s is still being replaced after %s (another migrator stopped half way: rename %s back to %s)", table, regranulateWait, old, table)
		}
		if err := retry.Sleep(ctx, 100*time.Millisecond); err != nil {
			return false, err
		}
	}
}

// tableMissing says whether err is ClickHouse's answer about a table that
// does not exist: UNKNOWN_TABLE, or 18.16's "no metadata file" to a SHOW
// CREATE TABLE while another migrator renames it.
func tableMissing(err error) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && (ex.Code == 60 || ex.Code == 390)
}

func dropIfExists(ctx context.Context, conn driver.Conn, table string) error {
	if err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+table); err != nil {
		return fmt.Errorf("dropping %s: %w", table, err)
	}
	return nil
}
