package readbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chstore"
	"tagpulse/internal/rollup"
	"tagpulse/internal/topic"
	"tagpulse/internal/trend"
)

// Server is a ClickHouse server to measure on.
type Server struct{ Name, Addr string }

// Config is what a run measures.
type Config struct {
	Servers []Server
	Sizes   []int // posts, smallest first
	Days    int
	Runs    int // timed runs of each read, after one untimed
	Log     *slog.Logger
}

// DefaultConfig is `make bench`'s: 2M and 20M posts over 30 days on the
// local stack's two servers, 7 runs of each read.
func DefaultConfig() Config {
	return Config{
		Servers: []Server{{"18.16 (clickhouse)", "127.0.0.1:9000"}, {"26.9 (clickhouse26)", "127.0.0.1:9001"}},
		Sizes:   []int{2_000_000, 20_000_000},
		Days:    30,
		Runs:    7,
		Log:     slog.New(slog.DiscardHandler),
	}
}

// Figure is the p50 and p95 of a read's runs.
type Figure struct{ P50, P95 time.Duration }

// Result is one size on one server.
type Result struct {
	Server, Version string
	Posts           int
	Mentions        uint64
	LoadV1, LoadV2  time.Duration // the inserts (v1's through its views)
	Rollup          time.Duration // v2's worker over all of history
	V1, V2          map[string]Figure
	Bytes           map[string]uint64 // "v1 mentions", "v1 counts", "v2 mentions", "v2 counts"
}

// Report is a whole run.
type Report struct {
	Config  Config
	Results []Result
}

// Run measures every size on every server.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	slices.Sort(cfg.Sizes)
	r := &Report{Config: cfg}
	for _, srv := range cfg.Servers {
		for _, posts := range cfg.Sizes {
			res, err := runOne(ctx, cfg, srv, posts)
			if err != nil {
				return r, fmt.Errorf("%s, %d posts: %w", srv.Name, posts, err)
			}
			r.Results = append(r.Results, res)
		}
	}
	return r, nil
}

// database opens a fresh database of schema version upTo on srv.
func database(ctx context.Context, srv Server, name string, upTo int) (driver.Conn, func(), error) {
	cfg := chstore.Config{DSN: "clickhouse://default:@" + srv.Addr + "/" + name}
	if _, err := chstore.MigrateTo(ctx, cfg, io.Discard, upTo); err != nil {
		return nil, nil, err
	}
	conn, err := chstore.Open(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return conn, func() {
		if err := conn.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			slog.Warn("dropping a benchmark database", "database", name, "err", err)
		}
		conn.Close()
	}, nil
}

func runOne(ctx context.Context, cfg Config, srv Server, posts int) (Result, error) {
	res := Result{Server: srv.Name, Posts: posts, V1: map[string]Figure{}, V2: map[string]Figure{}, Bytes: map[string]uint64{}}
	h := History{Posts: posts, Days: cfg.Days, End: time.Now().UTC().Truncate(time.Minute)}
	suffix := fmt.Sprintf("%d_%d", posts, time.Now().UnixNano()%1_000_000)
	v2, drop2, err := database(ctx, srv, "readbench_v2_"+suffix, 0)
	if err != nil {
		return res, err
	}
	defer drop2()
	v1, drop1, err := database(ctx, srv, "readbench_v1_"+suffix, 3)
	if err != nil {
		return res, err
	}
	defer drop1()
	if err := v2.QueryRow(ctx, "SELECT version()").Scan(&res.Version); err != nil {
		return res, err
	}

	cfg.Log.Info("loading schema v2", "server", srv.Name, "posts", posts)
	start := time.Now()
	if err := h.load(ctx, v2, false); err != nil {
		return res, err
	}
	res.LoadV2 = time.Since(start)
	start = time.Now()
	if err := rollup.MarkAll(ctx, v2); err != nil {
		return res, err
	}
	if err := rollup.NewWorker(v2, cfg.Log, nil).CatchUp(ctx, io.Discard); err != nil {
		return res, err
	}
	res.Rollup = time.Since(start)
	cfg.Log.Info("loading schema v1", "server", srv.Name, "posts", posts)
	start = time.Now()
	if err := h.load(ctx, v1, true); err != nil {
		return res, err
	}
	res.LoadV1 = time.Since(start)
	if err := v2.QueryRow(ctx, "SELECT count() FROM mentions").Scan(&res.Mentions); err != nil {
		return res, err
	}

	store := trend.NewStore(v2, trend.DefaultParams())
	top7d, err := store.Top(ctx, trend.Query{At: h.End, Window: 7 * day, Limit: 10})
	if err != nil {
		return res, err
	}
	var tags []string
	for _, c := range top7d {
		tags = append(tags, c.Tag)
	}
	if err := defineTopics(ctx, v2, tags, cfg); err != nil {
		return res, err
	}
	for _, side := range []struct {
		name  string
		reads []read
		into  map[string]Figure
	}{{"v2", v2Reads(v2, h.End, tags), res.V2}, {"v1", v1Reads(v1, h.End, tags), res.V1}} {
		for _, rd := range side.reads {
			cfg.Log.Info("timing", "server", srv.Name, "posts", posts, "schema", side.name, "read", rd.name)
			f, err := timeRead(ctx, rd, cfg.Runs)
			if err != nil {
				return res, fmt.Errorf("%s %s: %w", side.name, rd.name, err)
			}
			side.into[rd.name] = f
		}
	}
	for _, s := range []struct {
		conn   driver.Conn
		schema string
		counts []string
	}{
		{v1, "v1", []string{"tag_minute", "tag_display"}},
		{v2, "v2", append(rollup.Tables(), "rollup_dirty", "rollup_done")},
	} {
		sizes, err := tableBytes(ctx, s.conn)
		if err != nil {
			return res, err
		}
		res.Bytes[s.schema+" mentions"] = sizes["mentions"]
		for _, t := range s.counts {
			res.Bytes[s.schema+" counts"] += sizes[t]
		}
	}
	return res, nil
}

// defineTopics makes five topics of two of tags each (the most used tags:
// the topics' unions are as large as the history makes them) and brings
// their rollup up to date, for the topic read (docs/trends.md, "Topics").
func defineTopics(ctx context.Context, v2 driver.Conn, tags []string, cfg Config) error {
	topics := topic.NewStore(v2, rollup.MarkTopics)
	for i := 0; i+1 < len(tags) && i < 10; i += 2 {
		if _, err := topics.Add(ctx, fmt.Sprintf("topic%d", i/2), "readbench", tags[i], tags[i+1]); err != nil {
			return fmt.Errorf("defining the benchmark's topics: %w", err)
		}
	}
	if err := rollup.NewWorker(v2, cfg.Log, nil).CatchUp(ctx, io.Discard); err != nil {
		return fmt.Errorf("rolling up the benchmark's topics: %w", err)
	}
	return nil
}

// timeRead runs rd once untimed, then runs times, and returns the p50 and
// p95 (nearest rank).
func timeRead(ctx context.Context, rd read, runs int) (Figure, error) {
	if err := rd.run(ctx); err != nil {
		return Figure{}, err
	}
	ds := make([]time.Duration, runs)
	for i := range ds {
		start := time.Now()
		if err := rd.run(ctx); err != nil {
			return Figure{}, err
		}
		ds[i] = time.Since(start)
	}
	slices.Sort(ds)
	rank := func(q float64) time.Duration {
		i := int(q*float64(len(ds))+0.999999) - 1
		return ds[max(0, min(i, len(ds)-1))]
	}
	return Figure{rank(0.5), rank(0.95)}, nil
}

// tableBytes is the bytes on disk of each table of conn's database, its
// active parts as the load left them (no merge forced).
func tableBytes(ctx context.Context, conn driver.Conn) (map[string]uint64, error) {
	rows, err := conn.Query(ctx, "SELECT table, sum(bytes_on_disk) FROM system.parts WHERE database = currentDatabase() AND active GROUP BY table")
	if err != nil {
		return nil, fmt.Errorf("reading the size of the tables: %w", err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var (
			t string
			n uint64
		)
		if err := rows.Scan(&t, &n); err != nil {
			return nil, err
		}
		out[t] = n
	}
	return out, rows.Err()
}
