// Command chschema measures what a current ClickHouse's column types and
// codecs would gain on tagpulse's schema (docs/clickhouse-versions.md): it
// creates the schema of internal/chstore as it is and in variants
// (LowCardinality strings, compression codecs, both, LowCardinality with
// only Delta codecs), inserts the mention
// rows of the benchmark corpus (internal/testkit/benchrun) into each the way
// aggregate does, and prints the bytes on disk, the insert time and the
// time of the trend queries. Run it against ClickHouse 26.9:
//
//	go run ./scripts/chschema -addr 127.0.0.1:9001
//
// Variants need ClickHouse 19.1 or later (codecs); on 18.16 only the
// baseline runs.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chstore"
	"tagpulse/internal/corpus"
	"tagpulse/internal/hashtag"
	"tagpulse/internal/post"
)

// A variant is the schema with some column types replaced: table ->
// column -> type.
type variant struct {
	name  string
	types map[string]map[string]string
}

var (
	lowCard = map[string]map[string]string{
		"mentions":    {"tag": "LowCardinality(String)", "display": "LowCardinality(String)", "source": "LowCardinality(String)", "lang": "LowCardinality(String)"},
		"tag_minute":  {"tag": "LowCardinality(String)", "source": "LowCardinality(String)", "lang": "LowCardinality(String)"},
		"tag_display": {"tag": "LowCardinality(String)", "display": "LowCardinality(String)"},
	}
	codecs = map[string]map[string]string{
		"mentions": {
			"post_id": "String CODEC(ZSTD(1))", "created_at": "DateTime CODEC(Delta, ZSTD(1))",
			"kafka_offset": "Int64 CODEC(Delta, ZSTD(1))", "inserted_at": "DateTime CODEC(Delta, ZSTD(1))",
		},
		"tag_minute":  {"minute": "DateTime CODEC(DoubleDelta, ZSTD(1))", "posts": "AggregateFunction(uniqExact, String) CODEC(ZSTD(1))"},
		"tag_display": {"posts": "AggregateFunction(uniqExact, String) CODEC(ZSTD(1))"},
	}
	// deltas keeps the default LZ4 and only adds Delta in front of it for
	// the columns that grow steadily: cheaper to read than ZSTD.
	deltas = map[string]map[string]string{
		"mentions": {
			"created_at": "DateTime CODEC(Delta, LZ4)", "kafka_offset": "Int64 CODEC(Delta, LZ4)", "inserted_at": "DateTime CODEC(Delta, LZ4)",
		},
		"tag_minute": {"minute": "DateTime CODEC(DoubleDelta, LZ4)"},
	}
	variants = []variant{
		{"as today (18.16 subset)", nil},
		{"LowCardinality", lowCard},
		{"codecs", codecs},
		{"LowCardinality + codecs", merge(lowCard, codecs)},
		{"LowCardinality + Delta (LZ4)", merge(lowCard, deltas)},
	}
)

// merge combines column-type maps; for a column in both, a codec is added
// to the LowCardinality type.
func merge(a, b map[string]map[string]string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, m := range []map[string]map[string]string{a, b} {
		for table, cols := range m {
			if out[table] == nil {
				out[table] = map[string]string{}
			}
			for col, typ := range cols {
				if prev, ok := out[table][col]; ok {
					_, codec, _ := strings.Cut(typ, " CODEC")
					typ = prev + " CODEC" + codec
				}
				out[table][col] = typ
			}
		}
	}
	return out
}

var (
	createTable = regexp.MustCompile(`CREATE TABLE IF NOT EXISTS (\w+)`)
	column      = regexp.MustCompile(`^(\s*)(\w+)(\s+)(\S.*?)(,?)$`)
)

// rewrite returns the statement with the variant's column types.
func (v variant) rewrite(stmt string) string {
	m := createTable.FindStringSubmatch(stmt)
	if m == nil || v.types[m[1]] == nil {
		return stmt
	}
	types := v.types[m[1]]
	lines := strings.Split(stmt, "\n")
	for i, line := range lines {
		c := column.FindStringSubmatch(line)
		if c == nil {
			continue
		}
		if typ, ok := types[c[2]]; ok {
			lines[i] = c[1] + c[2] + c[3] + typ + c[5]
		}
	}
	return strings.Join(lines, "\n")
}

type result struct {
	insert, top, scan time.Duration
	bytes             map[string]uint64 // table -> compressed bytes on disk
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "ClickHouse native address")
	posts := flag.Int("posts", 200_000, "posts in the benchmark corpus")
	runs := flag.Int("runs", 3, "measurements per variant (medians are printed)")
	batch := flag.Int("batch", 50_000, "rows per insert")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, *posts, *runs, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "chschema:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr string, posts, runs, batch int) error {
	opt := corpus.DefaultOptions()
	opt.Posts = posts
	rows, err := corpusRows(opt)
	if err != nil {
		return err
	}
	admin, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, Auth: clickhouse.Auth{Database: "default", Username: "default"}})
	if err != nil {
		return fmt.Errorf("opening ClickHouse at %s: %w", addr, err)
	}
	defer admin.Close()
	v, err := admin.ServerVersion()
	if err != nil {
		return fmt.Errorf("reading the server version: %w", err)
	}
	fmt.Printf("ClickHouse %s at %s; %d posts, %d mention rows, inserts of %d rows; median of %d rounds, each query the fastest of 7\n\n",
		v.Version, addr, posts, len(rows), batch, runs)
	fmt.Printf("| schema | mentions | tag_minute | tag_display | total on disk | insert | top 24h | mentions scan |\n")
	fmt.Printf("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	// Rounds take the variants in turn, so the machine's drift (it is
	// shared) falls on all of them alike.
	n := len(variants)
	if v.Version.Major < 19 {
		n = 1
	}
	rs := make([][]result, n)
	for r := range runs {
		for i, vr := range variants[:n] {
			res, err := measure(ctx, admin, addr, vr, rows, batch, opt, r)
			if err != nil {
				return fmt.Errorf("%s: %w", vr.name, err)
			}
			rs[i] = append(rs[i], res)
		}
	}
	base := medians(rs[0])
	for i, vr := range variants[:n] {
		med := medians(rs[i])
		total, baseTotal := sum(med.bytes), sum(base.bytes)
		fmt.Printf("| %s | %s | %s | %s | %s (%+.0f%%) | %s | %s | %s |\n", vr.name,
			mib(med.bytes["mentions"]), mib(med.bytes["tag_minute"]), mib(med.bytes["tag_display"]),
			mib(total), 100*(float64(total)/float64(baseTotal)-1),
			ms(med.insert), ms(med.top), ms(med.scan))
	}
	return nil
}

// corpusRows are the mention rows aggregate writes for the corpus.
func corpusRows(opt corpus.Options) ([]chstore.Mention, error) {
	var buf bytes.Buffer
	if _, err := corpus.Generate(&buf, opt); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	var rows []chstore.Mention
	for line := range bytes.Lines(buf.Bytes()) {
		p, err := post.DecodePost(line, post.DecodeOptions{})
		if err != nil {
			return nil, fmt.Errorf("decoding corpus line: %w", err)
		}
		for i, t := range hashtag.Distinct(p.Text) {
			rows = append(rows, chstore.Mention{PostID: p.ID, Tag: t.Tag, Display: t.Display, CreatedAt: p.CreatedAt,
				Source: p.Source, Lang: p.Lang, ExtractorVersion: hashtag.Version, KafkaOffset: int64(len(rows)), KafkaPartition: int32(i % 6), InsertedAt: now})
		}
	}
	return rows, nil
}

func measure(ctx context.Context, admin driver.Conn, addr string, vr variant, rows []chstore.Mention, batch int, opt corpus.Options, run int) (result, error) {
	db := fmt.Sprintf("chschema_%d_%d", time.Now().UnixNano(), run)
	if err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		return result{}, fmt.Errorf("creating database: %w", err)
	}
	defer admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, Auth: clickhouse.Auth{Database: db, Username: "default"}})
	if err != nil {
		return result{}, err
	}
	defer conn.Close()
	migrations, err := chstore.Migrations()
	if err != nil {
		return result{}, err
	}
	for _, m := range migrations {
		for _, stmt := range m.Statements {
			if err := conn.Exec(ctx, vr.rewrite(stmt)); err != nil {
				return result{}, fmt.Errorf("migration %s: %w\n%s", m.Name, err, vr.rewrite(stmt))
			}
		}
	}
	var res result
	start := time.Now()
	for i := 0; i < len(rows); i += batch {
		if err := chstore.InsertMentions(ctx, conn, rows[i:min(i+batch, len(rows))]); err != nil {
			return result{}, err
		}
	}
	res.insert = time.Since(start)
	for _, t := range []string{"mentions", "tag_minute", "tag_display"} {
		if err := conn.Exec(ctx, "OPTIMIZE TABLE "+t+" FINAL"); err != nil {
			return result{}, fmt.Errorf("optimizing %s: %w", t, err)
		}
	}
	res.bytes = map[string]uint64{}
	q, err := admin.Query(ctx, "SELECT table, sum(data_compressed_bytes) FROM system.parts WHERE database = ? AND active GROUP BY table", db)
	if err != nil {
		return result{}, fmt.Errorf("reading system.parts: %w", err)
	}
	for q.Next() {
		var t string
		var n uint64
		if err := q.Scan(&t, &n); err != nil {
			return result{}, err
		}
		res.bytes[t] = n
	}
	q.Close()
	end := opt.End
	if res.top, err = timeQuery(ctx, conn, `SELECT tag, uniqExactMerge(posts) AS n FROM tag_minute WHERE minute >= ? AND minute < ? GROUP BY tag ORDER BY n DESC, tag LIMIT 20`, end.Add(-24*time.Hour), end); err != nil {
		return result{}, err
	}
	if res.scan, err = timeQuery(ctx, conn, `SELECT source, lang, count(), uniqExact(post_id) FROM mentions WHERE created_at >= ? GROUP BY source, lang`, end.Add(-24*time.Hour)); err != nil {
		return result{}, err
	}
	return res, nil
}

// timeQuery returns the shortest time of seven runs of a query, rows
// read: on a shared machine the shortest is the one least disturbed.
func timeQuery(ctx context.Context, conn driver.Conn, sql string, args ...any) (time.Duration, error) {
	var ts []time.Duration
	for range 7 {
		start := time.Now()
		rows, err := conn.Query(ctx, sql, args...)
		if err != nil {
			return 0, fmt.Errorf("query %q: %w", sql, err)
		}
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return 0, err
		}
		ts = append(ts, time.Since(start))
	}
	return slices.Min(ts), nil
}

func medians(rs []result) result {
	pick := func(f func(result) time.Duration) time.Duration {
		var ts []time.Duration
		for _, r := range rs {
			ts = append(ts, f(r))
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
		return ts[len(ts)/2]
	}
	out := result{
		insert: pick(func(r result) time.Duration { return r.insert }),
		top:    pick(func(r result) time.Duration { return r.top }),
		scan:   pick(func(r result) time.Duration { return r.scan }),
		bytes:  rs[len(rs)/2].bytes, // sizes do not vary between runs
	}
	return out
}

func sum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

func mib(n uint64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
