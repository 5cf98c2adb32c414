package readbench

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// History is a synthetic history: Posts posts over the Days days before
// End, 1 to 3 tags each, drawn log-uniformly from 50,000 tags (the first
// tag carries about 6% of mentions); 300,000 possible authors, also
// log-uniform, and 5% of posts without one; three sources and four
// languages. Everything follows from the post's number by cityHash64, so
// a size always yields the same history.
type History struct {
	Posts int
	Days  int
	End   time.Time
}

// chunkPosts bounds the posts one INSERT … SELECT generates, so its memory
// stays small whatever the size.
const chunkPosts = 1_000_000

// historySQL generates the mentions of posts [@first, @first + @n). {cols}
// is the column list of the target (v1's mentions has no account).
const historySQL = `INSERT INTO mentions ({cols})
SELECT post_id, {account} tag, display, created_at, source, lang, toUInt16(1), toInt32(0), toInt64(number), now()
FROM (
    SELECT number,
        concat('p', toString(number)) AS post_id,
        if(cityHash64(number, 7) % 20 = 0, '',
           concat('a', toString(toUInt32(pow(300000, (cityHash64(number, 8) % 1000000) / 1000000))))) AS account,
        concat('t', toString(toUInt32(pow(50000, (cityHash64(number, 10 + i) % 1000000) / 1000000)))) AS tag,
        if(cityHash64(number, 20 + i) % 4 = 0, upper(tag), tag) AS display,
        toDateTime(@start + cityHash64(number, 1) % @span) AS created_at,
        ['mastodon', 'bluesky', 'rss'][1 + cityHash64(number, 2) % 3] AS source,
        ['en', 'fr', 'de', 'es'][1 + cityHash64(number, 3) % 4] AS lang
    FROM numbers(@first, @n) ARRAY JOIN range(toUInt64(1 + cityHash64(number, 4) % 3)) AS i
)`

// load inserts the history into conn's mentions; v1 leaves out the
// account column, which schema v1 does not have.
func (h History) load(ctx context.Context, conn driver.Conn, v1 bool) error {
	cols, account := "post_id, account, tag, display, created_at, source, lang, extractor_version, kafka_partition, kafka_offset, inserted_at", "account,"
	if v1 {
		cols, account = "post_id, tag, display, created_at, source, lang, extractor_version, kafka_partition, kafka_offset, inserted_at", ""
	}
	q := replaceAll(historySQL, "{cols}", cols, "{account}", account)
	span := int64(h.Days) * 86400
	start := h.End.Unix() - span
	for first := 0; first < h.Posts; first += chunkPosts {
		n := min(chunkPosts, h.Posts-first)
		if err := conn.Exec(ctx, q, clickhouse.Named("start", start), clickhouse.Named("span", span),
			clickhouse.Named("first", uint64(first)), clickhouse.Named("n", uint64(n))); err != nil {
			return fmt.Errorf("loading posts %d to %d: %w", first, first+n, err)
		}
	}
	return nil
}

// Load inserts the history into conn's mentions, a schema v2 database,
// without marking its hours for the rollup: for benchmarks of reads of
// mentions itself, such as topicsuggest's.
func (h History) Load(ctx context.Context, conn driver.Conn) error { return h.load(ctx, conn, false) }
