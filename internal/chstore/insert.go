package chstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chinsert"
	"tagpulse/internal/rollup"
)

// Mention is one row of the mentions table: one post × one of its hashtags.
type Mention struct {
	PostID string
	// Account is the post's author, empty when the source gives none (the
	// rollup then counts the post as its own account).
	Account          string
	Tag              string
	Display          string
	CreatedAt        time.Time
	Source           string
	Lang             string
	ExtractorVersion uint16
	KafkaPartition   int32
	KafkaOffset      int64
	InsertedAt       time.Time
	// Bot is set when the source marks the post's author as a bot: the
	// row is kept and counted apart, in no count.
	Bot bool
}

// Range of a ClickHouse DateTime (seconds since the epoch in a UInt32). A
// time outside it cannot be stored; the aggregator rejects such posts
// instead of letting one of them fail every insert of its batch.
var (
	MinDateTime = time.Unix(0, 0).UTC()
	MaxDateTime = time.Unix(1<<32-1, 0).UTC()
)

// Mentions holds rows of the mentions table column by column, the layout
// an insert sends: the aggregator's batches append to it, and Insert sends
// the columns as they are, with no copy into a second layout (which was
// the largest short-lived allocation of an insert, BENCHMARKS.md). Strings
// are shared with whatever decoded them.
type Mentions struct {
	PostID, Account, Tag, Display, Source, Lang []string
	CreatedAt, InsertedAt                       []time.Time
	ExtractorVersion                            []uint16
	KafkaPartition                              []int32
	KafkaOffset                                 []int64
	Bot                                         []uint8
}

// Len is the number of rows.
func (m *Mentions) Len() int { return len(m.PostID) }

// Append adds one row.
func (m *Mentions) Append(r Mention) {
	m.PostID = append(m.PostID, r.PostID)
	m.Account = append(m.Account, r.Account)
	m.Tag = append(m.Tag, r.Tag)
	m.Display = append(m.Display, r.Display)
	m.Source = append(m.Source, r.Source)
	m.Lang = append(m.Lang, r.Lang)
	m.CreatedAt = append(m.CreatedAt, r.CreatedAt)
	m.InsertedAt = append(m.InsertedAt, r.InsertedAt)
	m.ExtractorVersion = append(m.ExtractorVersion, r.ExtractorVersion)
	m.KafkaPartition = append(m.KafkaPartition, r.KafkaPartition)
	m.KafkaOffset = append(m.KafkaOffset, r.KafkaOffset)
	var bot uint8
	if r.Bot {
		bot = 1
	}
	m.Bot = append(m.Bot, bot)
}

// Row returns row i.
func (m *Mentions) Row(i int) Mention {
	return Mention{
		PostID: m.PostID[i], Account: m.Account[i], Tag: m.Tag[i], Display: m.Display[i], CreatedAt: m.CreatedAt[i],
		Source: m.Source[i], Lang: m.Lang[i], ExtractorVersion: m.ExtractorVersion[i],
		KafkaPartition: m.KafkaPartition[i], KafkaOffset: m.KafkaOffset[i], InsertedAt: m.InsertedAt[i], Bot: m.Bot[i] == 1,
	}
}

// Reset empties m and keeps its arrays for the next rows; the strings they
// held are dropped, so they keep no post alive.
func (m *Mentions) Reset() {
	for _, col := range []*[]string{&m.PostID, &m.Account, &m.Tag, &m.Display, &m.Source, &m.Lang} {
		clear(*col)
		*col = (*col)[:0]
	}
	m.CreatedAt, m.InsertedAt = m.CreatedAt[:0], m.InsertedAt[:0]
	m.ExtractorVersion, m.KafkaPartition, m.KafkaOffset, m.Bot = m.ExtractorVersion[:0], m.KafkaPartition[:0], m.KafkaOffset[:0], m.Bot[:0]
}

// InsertMentions writes rows to mentions in one INSERT (see Insert), then
// marks their hours for the rollup, as the aggregator's flush does.
func InsertMentions(ctx context.Context, conn driver.Conn, rows []Mention) error {
	var m Mentions
	hours := map[time.Time]bool{}
	for _, r := range rows {
		m.Append(r)
		hours[r.CreatedAt.UTC().Truncate(time.Hour)] = true
	}
	if err := m.Insert(ctx, conn, Durability{}); err != nil {
		return err
	}
	return rollup.Mark(ctx, conn, slices.Collect(maps.Keys(hours)), time.Now())
}

// Insert writes the rows to mentions in one INSERT. A successful return
// means reads count these rows: an hour not yet rolled up is read from
// mentions (the caller then marks the rows' hours for the rollup, see
// internal/rollup). An insert that fails may still have written some of
// its rows; writing the same rows again is harmless (see
// docs/exactly-once.md). d's per-insert settings (insert_quorum) go with
// the insert; its fsync mode was applied to the tables by
// PrepareDurability.
func (m *Mentions) Insert(ctx context.Context, conn driver.Conn, d Durability) error {
	return insertColumns(ctx, conn, d, "mentions", "post_id, account, tag, display, created_at, source, lang, extractor_version, kafka_partition, kafka_offset, inserted_at, bot",
		m.Len(), m.PostID, m.Account, m.Tag, m.Display, m.CreatedAt, m.Source, m.Lang, m.ExtractorVersion, m.KafkaPartition, m.KafkaOffset, m.InsertedAt, m.Bot)
}

// insertColumns writes n rows, given column by column in the order of
// columns, to table in one INSERT with d's per-insert settings
// (chinsert.Columns).
func insertColumns(ctx context.Context, conn driver.Conn, d Durability, table, columns string, n int, cols ...any) error {
	if n == 0 {
		return nil
	}
	if err := chinsert.Columns(d.Context(ctx), conn, table, columns, cols...); err != nil {
		return fmt.Errorf("a batch of %d rows: %w", n, err)
	}
	return nil
}
