package benchrun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/segmentio/kafka-go"

	"tagpulse/internal/chstore"
	"tagpulse/internal/corpus"
	"tagpulse/internal/ingest"
	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/post"
)

// Config says what one benchmark run measures and where.
type Config struct {
	Corpus corpus.Options
	// Runs is how many times each throughput figure is measured; the
	// report gives medians.
	Runs int
	// Dir holds the corpus and the message files.
	Dir string
	// Bin is the directory of the built ingest and aggregate.
	Bin string
	// KcatBin is librdkafka's kcat.
	KcatBin string
	// Brokers and ClickHouseAddr reach the local stack (ClickHouseAddr is
	// Debian's ClickHouse 18.16, which the Kafka-engine peer needs).
	Brokers        []string
	ClickHouseAddr string
	// CurrentClickHouseAddr is a current ClickHouse (the stack's
	// clickhouse26 service) on which the inserts and aggregate are measured
	// too, side by side with ClickHouseAddr; empty leaves it out.
	CurrentClickHouseAddr string
	// Partitions of every topic the run creates.
	Partitions int
	// FreshRate posts/s are offered for FreshDuration to measure
	// end-to-end freshness.
	FreshRate     int
	FreshDuration time.Duration
	// SkipPeer leaves out ClickHouse's Kafka engine.
	SkipPeer bool
	Log      *slog.Logger
}

// DefaultConfig is the configuration of `make bench`.
func DefaultConfig() Config {
	return Config{
		Corpus:                corpus.DefaultOptions(),
		Runs:                  3,
		Bin:                   "bin",
		KcatBin:               "kcat",
		Brokers:               []string{"127.0.0.1:9092"},
		ClickHouseAddr:        "127.0.0.1:9000",
		CurrentClickHouseAddr: "127.0.0.1:9001",
		Partitions:            6,
		FreshRate:             5000,
		FreshDuration:         30 * time.Second,
	}
}

// SmokeConfig runs everything tiny, for correctness only.
func SmokeConfig() Config {
	c := DefaultConfig()
	c.Corpus.Posts = 2000
	c.Runs = 1
	c.FreshRate = 500
	c.FreshDuration = 3 * time.Second
	return c
}

// fixture is the corpus in every form the measurements need.
type fixture struct {
	exp         corpus.Expected
	corpusPath  string
	corpusBytes int64
	// kcatPath holds "key<TAB>value" lines: the Kafka messages ingest
	// writes, for kcat -K.
	kcatPath   string
	flatPath   string // the flattened copy ClickHouse's Kafka engine can parse
	msgs       []kafka.Message
	valueBytes int64
	rows       []chstore.Mention
	texts      []string
}

// env is what the measurements share: the stack and what to clean up.
type env struct {
	cfg    Config
	log    *slog.Logger
	kafka  *kafkaclient.Config
	admin  driver.Conn
	db     string
	topics []string
	suffix string
	// current is the same stack with the current ClickHouse
	// (Config.CurrentClickHouseAddr) in place of 18.16; nil when not
	// measured.
	current *env
}

// Run measures everything and returns the report. It fails when a count is
// not exact or a measurement cannot be made; what it created on the stack
// is removed either way.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	e, fx, done, err := setUp(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer done()

	r := &Report{Posts: fx.exp.Posts, Mentions: fx.exp.Mentions, CorpusBytes: fx.corpusBytes, ValueBytes: fx.valueBytes, Runs: e.cfg.Runs,
		ClickHouseVersion: e.serverVersion()}
	if e.current != nil {
		r.Current = &CurrentFigures{Version: e.current.serverVersion()}
	}
	steps := []struct {
		name string
		fn   func(context.Context, *fixture, *Report) error
	}{
		{"limits: kafka-go", e.kafkaGo},
		{"limits: clickhouse-go insert", e.rawInsert},
		{"limits: clickhouse-go insert on the current ClickHouse", e.currentInsert},
		{"peer: ClickHouse Kafka engine", e.peer},
		{"tagpulse: kcat produce, ingest, kcat consume, aggregate, in turn", e.tagpulse},
		{"tagpulse: freshness", e.freshness},
	}
	for _, s := range steps {
		if s.name == "peer: ClickHouse Kafka engine" && cfg.SkipPeer {
			continue
		}
		e.log.Info("measuring", "step", s.name)
		if err := s.fn(ctx, fx, r); err != nil {
			return r, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	if len(r.Inexact) > 0 {
		return r, fmt.Errorf("counts are not exact: %s", strings.Join(r.Inexact, "; "))
	}
	return r, nil
}

// setUp fills in cfg, reaches the stack and writes the corpus; done
// removes what the run created on the stack and on disk.
func setUp(ctx context.Context, cfg Config) (e *env, fx *fixture, done func(), err error) {
	cleanup, err := cfg.fill()
	if err != nil {
		return nil, nil, nil, err
	}
	if e, err = newEnv(ctx, cfg); err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	done = func() { e.cleanup(); cleanup() }
	start := time.Now()
	if fx, err = prepare(cfg); err != nil {
		done()
		return nil, nil, nil, err
	}
	e.log.Info("corpus ready", "posts", fx.exp.Posts, "mentions", fx.exp.Mentions, "tags", len(fx.exp.Tags), "corpus_bytes", fx.corpusBytes, "took", time.Since(start).Round(time.Millisecond))
	return e, fx, done, nil
}

// fill sets what the caller left empty: a silent logger, one run, a
// temporary directory (which the returned func removes).
func (cfg *Config) fill() (func(), error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Runs = max(cfg.Runs, 1)
	if cfg.Dir != "" {
		return func() {}, nil
	}
	d, err := os.MkdirTemp("", "tagpulse-bench-")
	if err != nil {
		return nil, err
	}
	cfg.Dir = d
	return func() { os.RemoveAll(d) }, nil
}

func newEnv(ctx context.Context, cfg Config) (*env, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	suffix := hex.EncodeToString(b)
	kc := &kafkaclient.Config{Brokers: cfg.Brokers, Topic: "bench_" + suffix, Partitions: cfg.Partitions}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := kc.Ping(pctx); err != nil {
		return nil, fmt.Errorf("reaching Kafka at %v (is the stack up?): %w", cfg.Brokers, err)
	}
	e, err := newClickHouseEnv(pctx, cfg, kc, suffix)
	if err != nil || cfg.CurrentClickHouseAddr == "" {
		return e, err
	}
	cur := cfg
	cur.ClickHouseAddr = cfg.CurrentClickHouseAddr
	if e.current, err = newClickHouseEnv(pctx, cur, kc, suffix); err != nil {
		e.cleanup()
		return nil, err
	}
	return e, nil
}

// newClickHouseEnv reaches cfg.ClickHouseAddr and creates the run's
// database there.
func newClickHouseEnv(ctx context.Context, cfg Config, kc *kafkaclient.Config, suffix string) (*env, error) {
	admin, err := clickhouse.Open(&clickhouse.Options{Addr: []string{cfg.ClickHouseAddr}, Auth: clickhouse.Auth{Database: "default", Username: "default"}})
	if err == nil {
		err = admin.Ping(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("reaching ClickHouse at %s (is the stack up?): %w", cfg.ClickHouseAddr, err)
	}
	db := "bench_" + suffix
	if err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		admin.Close()
		return nil, fmt.Errorf("creating database %s: %w", db, err)
	}
	return &env{cfg: cfg, log: cfg.Log, kafka: kc, admin: admin, db: db, suffix: suffix}, nil
}

// serverVersion is the version the ClickHouse of e reports, for the report.
func (e *env) serverVersion() string {
	v, err := e.admin.ServerVersion()
	if err != nil {
		return "?"
	}
	return v.Version.String()
}

// topic creates a fresh topic (and its dead-letter topic, which the
// services create anyway) and schedules its deletion.
func (e *env) topic(ctx context.Context, name string) (string, error) {
	t := "bench_" + e.suffix + "_" + name
	e.topics = append(e.topics, t, t+kafkaclient.DLQSuffix)
	if err := e.kafka.EnsureTopics(ctx, t, t+kafkaclient.DLQSuffix); err != nil {
		return "", err
	}
	// A new topic's partitions need a leader before producers can use it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ends, err := e.endOffsets(ctx, t)
		if err == nil && len(ends) == e.cfg.Partitions {
			return t, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("topic %s has no leader for every partition after 30s: %v", t, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// database names a fresh database for tagpulse (created by `aggregate
// migrate`) and schedules its removal.
func (e *env) database(name string) string {
	return e.db + "_" + name
}

func (e *env) dsn(db string) string {
	return fmt.Sprintf("clickhouse://default:@%s/%s", e.cfg.ClickHouseAddr, db)
}

func (e *env) cleanup() {
	if e.current != nil {
		e.current.cleanup()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var dbs []string
	rows, err := e.admin.Query(ctx, "SELECT name FROM system.databases WHERE startsWith(name, ?)", e.db)
	if err == nil {
		for rows.Next() {
			var n string
			if rows.Scan(&n) == nil {
				dbs = append(dbs, n)
			}
		}
		rows.Close()
	}
	for _, db := range dbs {
		if err := e.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
			e.log.Warn("dropping bench database", "database", db, "err", err)
		}
	}
	e.admin.Close()
	if len(e.topics) == 0 {
		return
	}
	client, err := e.kafka.Client()
	if err == nil {
		_, err = client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: e.topics})
	}
	if err != nil {
		e.log.Warn("deleting bench topics", "err", err)
	}
}

// prepare writes the corpus and derives the messages ingest publishes for
// it, their mention rows and the flattened copy.
func prepare(cfg Config) (*fixture, error) {
	fx := &fixture{
		corpusPath: filepath.Join(cfg.Dir, "corpus.jsonl"),
		kcatPath:   filepath.Join(cfg.Dir, "messages.tsv"),
		flatPath:   filepath.Join(cfg.Dir, "flat.jsonl"),
	}
	f, err := os.Create(fx.corpusPath)
	if err != nil {
		return nil, err
	}
	exp, err := corpus.Generate(f, cfg.Corpus)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	fx.exp = exp
	data, err := os.ReadFile(fx.corpusPath)
	if err != nil {
		return nil, err
	}
	fx.corpusBytes = int64(len(data))
	var kcatBuf, flatBuf strings.Builder
	now := time.Now()
	for line := range strings.Lines(string(data)) {
		p, err := post.DecodePost([]byte(line), post.DecodeOptions{})
		if err != nil {
			return nil, fmt.Errorf("corpus line does not decode: %w", err)
		}
		fx.texts = append(fx.texts, p.Text)
		m := ingest.Hashtags.Message(p)
		value, err := json.Marshal(&m)
		if err != nil {
			return nil, err
		}
		fx.msgs = append(fx.msgs, kafka.Message{Key: []byte(p.ID), Value: value})
		fx.valueBytes += int64(len(value))
		kcatBuf.WriteString(p.ID)
		kcatBuf.WriteByte('\t')
		kcatBuf.Write(value)
		kcatBuf.WriteByte('\n')
		flat, err := flatten(m)
		if err != nil {
			return nil, err
		}
		flatBuf.Write(flat)
		flatBuf.WriteByte('\n')
		for _, h := range m.Hashtags {
			fx.rows = append(fx.rows, chstore.Mention{
				PostID: p.ID, Tag: h.Tag, Display: h.Display, CreatedAt: p.CreatedAt,
				Source: p.Source, Lang: p.Lang, ExtractorVersion: uint16(m.ExtractorVersion), InsertedAt: now,
			})
		}
	}
	if len(fx.rows) != exp.Mentions {
		return nil, fmt.Errorf("extractor finds %d mentions in the corpus, the generator wrote %d", len(fx.rows), exp.Mentions)
	}
	if err := os.WriteFile(fx.kcatPath, []byte(kcatBuf.String()), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(fx.flatPath, []byte(flatBuf.String()), 0o644); err != nil {
		return nil, err
	}
	return fx, nil
}

// flatten is the shape ClickHouse 18.16's JSONEachRow reads: no array of
// objects (tags and their spellings as two parallel arrays), created_at as
// "YYYY-MM-DD hh:mm:ss", and no field the table lacks (18.16 takes
// input_format_skip_unknown_fields for the Kafka engine only from the
// server's default profile).
func flatten(m post.Message) ([]byte, error) {
	tags := make([]string, len(m.Hashtags))
	displays := make([]string, len(m.Hashtags))
	for i, h := range m.Hashtags {
		tags[i], displays[i] = h.Tag, h.Display
	}
	return json.Marshal(struct {
		ID        string   `json:"id"`
		CreatedAt string   `json:"created_at"`
		Source    string   `json:"source"`
		Lang      string   `json:"lang"`
		Tags      []string `json:"tags"`
		Displays  []string `json:"displays"`
	}{m.ID, m.CreatedAt.UTC().Format(time.DateTime), m.Source, m.Lang, tags, displays})
}

// median of samples; 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// repeat runs fn cfg.Runs times and returns the samples.
func (e *env) repeat(ctx context.Context, name string, fn func(ctx context.Context, i int) (float64, error)) ([]float64, error) {
	var out []float64
	for i := range e.cfg.Runs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v, err := e.measure(name, i, func() (float64, error) { return fn(ctx, i) })
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// measure takes measurement name of run i (from 0): it logs the figure,
// or names the measurement and the run in the error.
func (e *env) measure(name string, i int, fn func() (float64, error)) (float64, error) {
	v, err := fn()
	if err != nil {
		return 0, fmt.Errorf("%s (run %d): %w", name, i+1, err)
	}
	e.log.Info("measured", "what", name, "run", i+1, "value", fmt.Sprintf("%.0f", v))
	return v, nil
}

var errTimeout = errors.New("timed out")

// copyCount counts the newlines r yields.
func copyCount(r io.Reader) (int, error) {
	buf := make([]byte, 256<<10)
	n := 0
	for {
		k, err := r.Read(buf)
		for _, c := range buf[:k] {
			if c == '\n' {
				n++
			}
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
