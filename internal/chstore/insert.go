package chstore

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Mention is one row of the mentions table: one post × one of its hashtags.
type Mention struct {
	PostID           string
	Tag              string
	Display          string
	CreatedAt        time.Time
	Source           string
	Lang             string
	ExtractorVersion uint16
	KafkaPartition   int32
	KafkaOffset      int64
	InsertedAt       time.Time
}

// Range of a ClickHouse DateTime (seconds since the epoch in a UInt32). A
// time outside it cannot be stored; the aggregator rejects such posts
// instead of letting one of them fail every insert of its batch.
var (
	MinDateTime = time.Unix(0, 0).UTC()
	MaxDateTime = time.Unix(1<<32-1, 0).UTC()
)

// InsertMentions writes rows to mentions in one INSERT. The materialized
// views of the schema derive tag_minute and tag_display from the same
// block, so a successful return means the counts include these rows. An
// insert that fails may still have written some of its rows; writing the
// same rows again is harmless (see docs/exactly-once.md).
func InsertMentions(ctx context.Context, conn driver.Conn, rows []Mention) error {
	if len(rows) == 0 {
		return nil
	}
	batch, err := conn.PrepareBatch(ctx, `INSERT INTO mentions (post_id, tag, display, created_at, source, lang, extractor_version, kafka_partition, kafka_offset, inserted_at)`)
	if err != nil {
		return fmt.Errorf("preparing insert into mentions: %w", err)
	}
	defer batch.Abort()
	// Column by column: appending whole slices skips the per-row, per-value
	// type switches of batch.Append, which dominated the insert's CPU.
	var (
		postIDs, tags, displays, sources, langs = make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows))
		created, inserted                       = make([]time.Time, len(rows)), make([]time.Time, len(rows))
		versions                                = make([]uint16, len(rows))
		partitions                              = make([]int32, len(rows))
		offsets                                 = make([]int64, len(rows))
	)
	for i, r := range rows {
		postIDs[i], tags[i], displays[i], sources[i], langs[i] = r.PostID, r.Tag, r.Display, r.Source, r.Lang
		created[i], inserted[i] = r.CreatedAt, r.InsertedAt
		versions[i], partitions[i], offsets[i] = r.ExtractorVersion, r.KafkaPartition, r.KafkaOffset
	}
	for i, col := range []any{postIDs, tags, displays, created, sources, langs, versions, partitions, offsets, inserted} {
		if err := batch.Column(i).Append(col); err != nil {
			return fmt.Errorf("appending column %d to insert into mentions: %w", i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert batch of %d rows into mentions: %w", len(rows), err)
	}
	return nil
}
