package chstore

import (
	"context"
	"io"
)

// MigrateUpTo applies the migrations up to version only, as an older
// tagpulse left its database: the upgrade tests start from there.
func MigrateUpTo(ctx context.Context, cfg Config, version int) ([]int, error) {
	return migrateTo(ctx, cfg, io.Discard, version)
}
