// Package clusterbench measures tagpulse on the cluster profile of the
// stack (docs/scaling.md) beside the single stack, in one run and on one
// corpus, so that the figures compare as ratios: `ingest file` into a topic
// of replication factor 3 with acks=all against one broker, and `aggregate
// run` with 1, 2 and 3 processes in one consumer group writing through the
// Distributed tables of 2 shards × 2 replicas against one process on one
// server. Every run's counts are checked against the corpus.
package clusterbench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/segmentio/kafka-go"

	"tagpulse/internal/chstore"
	"tagpulse/internal/corpus"
	"tagpulse/internal/kafkaclient"
)

// Target is one stack: its brokers, the ClickHouse server tagpulse is
// given, and the cluster's name when it is one.
type Target struct {
	Name           string
	Brokers        []string
	ClickHouseAddr string
	Cluster        string
}

// Config says what a run measures.
type Config struct {
	Posts      int
	Partitions int
	// Bin holds the built ingest and aggregate.
	Bin string
	// Replicas are the numbers of aggregate processes measured on the
	// cluster.
	Replicas        []int
	Single, Cluster Target
	Log             *slog.Logger
}

// DefaultConfig is the configuration of `make bench`.
func DefaultConfig() Config {
	return Config{
		Posts:      100_000,
		Partitions: 6,
		Bin:        "bin",
		Replicas:   []int{1, 2, 3},
		Single:     Target{Name: "single", Brokers: []string{"127.0.0.1:9092"}, ClickHouseAddr: "127.0.0.1:9000"},
		Cluster: Target{Name: "cluster", Brokers: []string{"127.0.0.1:19091", "127.0.0.1:19092", "127.0.0.1:19093"},
			ClickHouseAddr: "127.0.0.1:19001", Cluster: "rep_shard"},
		Log: slog.New(slog.DiscardHandler),
	}
}

// Report holds the figures of a run, in posts per second.
type Report struct {
	Posts, Mentions int
	IngestSingle    float64
	IngestCluster   float64
	AggregateSingle float64
	// AggregateCluster is by number of processes.
	AggregateCluster map[int]float64
}

// Run measures and returns the report; it removes what it created.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	dir, err := os.MkdirTemp("", "clusterbench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "corpus.jsonl")
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	exp, err := corpus.Generate(f, corpus.Options{Posts: cfg.Posts, Seed: 2025, End: time.Now().UTC(), Span: 6 * time.Hour, LongTail: 500})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("writing the corpus: %w", err)
	}
	r := &Report{Posts: exp.Posts, Mentions: exp.Mentions, AggregateCluster: map[int]float64{}}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	run := &runner{cfg: cfg, suffix: hex.EncodeToString(b), corpus: path, posts: exp.Posts, exp: exp}
	defer run.cleanup()

	single, err := run.ingest(ctx, cfg.Single)
	if err != nil {
		return nil, err
	}
	r.IngestSingle = single.rate
	cluster, err := run.ingest(ctx, cfg.Cluster)
	if err != nil {
		return nil, err
	}
	r.IngestCluster = cluster.rate
	if r.AggregateSingle, err = run.aggregate(ctx, cfg.Single, single.topic, 1); err != nil {
		return nil, err
	}
	for _, n := range cfg.Replicas {
		if r.AggregateCluster[n], err = run.aggregate(ctx, cfg.Cluster, cluster.topic, n); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// runner is one run: what it names and what it must remove.
type runner struct {
	cfg       Config
	suffix    string
	corpus    string
	posts     int
	exp       corpus.Expected
	topics    []cleanupTopic
	databases []cleanupDatabase
}

type cleanupTopic struct {
	kc *kafkaclient.Config
}

type cleanupDatabase struct {
	t  Target
	db string
}

// published is a topic ingest filled, and at what rate.
type published struct {
	topic string
	rate  float64
}

func (r *runner) env(t Target, topic, db, group string) []string {
	env := append(os.Environ(), "KAFKA_BROKERS="+strings.Join(t.Brokers, ","), "KAFKA_TOPIC="+topic,
		fmt.Sprintf("KAFKA_PARTITIONS=%d", r.cfg.Partitions), "CLICKHOUSE_DSN=clickhouse://default:@"+t.ClickHouseAddr+"/"+db,
		"KAFKA_GROUP="+group, "LOG_LEVEL=warn")
	if t.Cluster != "" {
		env = append(env, "CLICKHOUSE_CLUSTER="+t.Cluster)
	}
	return env
}

// ingest publishes the corpus into a new topic of t and times it.
func (r *runner) ingest(ctx context.Context, t Target) (published, error) {
	topic := "clusterbench_" + r.suffix + "_" + t.Name
	kc := &kafkaclient.Config{Brokers: t.Brokers, Topic: topic, Partitions: r.cfg.Partitions}
	if err := kc.EnsureTopics(ctx, topic, kc.DLQTopic()); err != nil {
		return published{}, fmt.Errorf("creating topic %s on %s: %w", topic, t.Name, err)
	}
	r.topics = append(r.topics, cleanupTopic{kc})
	start := time.Now()
	if err := r.command(ctx, r.env(t, topic, "unused", "unused"), "ingest", "file", r.corpus); err != nil {
		return published{}, err
	}
	rate := float64(r.posts) / time.Since(start).Seconds()
	r.cfg.Log.Info("ingest file", "target", t.Name, "posts_per_second", int(rate))
	return published{topic, rate}, nil
}

// aggregate runs n aggregate processes in a new group over topic into a
// new database of t, times them until the group has committed the whole
// topic, checks the count of posts and returns the posts per second.
func (r *runner) aggregate(ctx context.Context, t Target, topic string, n int) (float64, error) {
	name := fmt.Sprintf("%s_%d", t.Name, n)
	db := "clusterbench_" + r.suffix + "_" + name
	r.databases = append(r.databases, cleanupDatabase{t, db})
	env := r.env(t, topic, db, "clusterbench_"+r.suffix+"_"+name)
	if err := r.command(ctx, env, "aggregate", "migrate"); err != nil {
		return 0, err
	}
	kc := &kafkaclient.Config{Brokers: t.Brokers, Topic: topic, Partitions: r.cfg.Partitions}
	client, err := kc.Client()
	if err != nil {
		return 0, err
	}
	parts := make([]int, r.cfg.Partitions)
	for i := range parts {
		parts[i] = i
	}
	logs, err := kafkaclient.LogOffsets(ctx, client, topic, parts)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
			_ = p.Wait()
		}
	}()
	for range n {
		p := exec.CommandContext(ctx, filepath.Join(r.cfg.Bin, "aggregate"), "run", "--http-addr", "", "--rollup-interval", "0")
		p.Env = env
		var stderr bytes.Buffer
		p.Stderr = &stderr
		if err := p.Start(); err != nil {
			return 0, err
		}
		procs = append(procs, p)
	}
	group := "clusterbench_" + r.suffix + "_" + name
	for {
		done, err := kafkaclient.CommittedOffsets(ctx, client, topic, group, parts)
		if err == nil {
			caught := true
			for p, l := range logs {
				caught = caught && done[p] >= l.End
			}
			if caught {
				break
			}
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
	rate := float64(r.posts) / time.Since(start).Seconds()
	if err := r.checkPosts(ctx, t, db); err != nil {
		return 0, err
	}
	r.cfg.Log.Info("aggregate run", "target", t.Name, "processes", n, "posts_per_second", int(rate))
	return rate, nil
}

// checkPosts checks that db counts each tag's posts as the corpus has
// them.
func (r *runner) checkPosts(ctx context.Context, t Target, db string) error {
	cfg := chstore.Config{DSN: "clickhouse://default:@" + t.ClickHouseAddr + "/" + db, Cluster: t.Cluster}
	conn, err := chstore.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	var rows []struct {
		Tag   string `ch:"tag"`
		Posts uint64 `ch:"posts"`
	}
	if err := conn.Select(ctx, &rows, "SELECT tag, uniqExact(post_id) AS posts FROM mentions GROUP BY tag"); err != nil {
		return fmt.Errorf("counting the posts in %s: %w", db, err)
	}
	if len(rows) != len(r.exp.Tags) {
		return fmt.Errorf("%s on %s counts %d tags, the corpus has %d", db, t.Name, len(rows), len(r.exp.Tags))
	}
	for _, row := range rows {
		if want := r.exp.Tags[row.Tag]; int(row.Posts) != want {
			return fmt.Errorf("%s on %s counts %d posts of %s, the corpus has %d", db, t.Name, row.Posts, row.Tag, want)
		}
	}
	return nil
}

// command runs a built command and fails with its stderr.
func (r *runner) command(ctx context.Context, env []string, name string, args ...string) error {
	c := exec.CommandContext(ctx, filepath.Join(r.cfg.Bin, name), args...)
	c.Env = env
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return nil
}

// cleanup removes the run's topics and databases.
func (r *runner) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, d := range r.databases {
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{d.t.ClickHouseAddr}, Auth: clickhouse.Auth{Database: "default", Username: "default"}})
		if err != nil {
			continue
		}
		on := ""
		dbs := []string{d.db}
		if d.t.Cluster != "" {
			on = " ON CLUSTER " + d.t.Cluster
			dbs = append(dbs, chstore.LocalDatabase(d.db))
		}
		for _, db := range dbs {
			if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db+on); err != nil {
				r.cfg.Log.Warn("dropping a bench database", "database", db, "err", err)
			}
		}
		conn.Close()
	}
	for _, tp := range r.topics {
		client, err := tp.kc.Client()
		if err == nil {
			_, err = client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{tp.kc.Topic, tp.kc.DLQTopic()}})
		}
		if err != nil {
			r.cfg.Log.Warn("deleting a bench topic", "topic", tp.kc.Topic, "err", err)
		}
	}
}

// Markdown renders the report for BENCHMARKS.md.
func (r *Report) Markdown(command, commit, date, machine string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Commit `%s`, %s, %s.\n\n", commit, date, machine)
	fmt.Fprintf(&b, "Command: `%s`. Corpus: %d posts, %d mentions; each figure is one run, every count checked. ", command, r.Posts, r.Mentions)
	b.WriteString("Single: one broker, one ClickHouse 18.16. Cluster: three brokers (replication factor 3, `min.insync.replicas=2`), ClickHouse 18.16 as 2 shards × 2 replicas with ZooKeeper, written through the Distributed tables; all on the same 2 cores.\n\n")
	b.WriteString("| measurement | posts/s | ratio |\n|---|---:|---|\n")
	fmt.Fprintf(&b, "| `ingest file`, single (acks=all, RF 1) | %.0f | 1.00× |\n", r.IngestSingle)
	fmt.Fprintf(&b, "| `ingest file`, cluster (acks=all, RF 3) | %.0f | %.2f× of single |\n", r.IngestCluster, r.IngestCluster/r.IngestSingle)
	fmt.Fprintf(&b, "| `aggregate run`, single, 1 process | %.0f | 1.00× |\n", r.AggregateSingle)
	for _, n := range []int{1, 2, 3} {
		v, ok := r.AggregateCluster[n]
		if !ok {
			continue
		}
		ratio := fmt.Sprintf("%.2f× of single", v/r.AggregateSingle)
		if one, ok := r.AggregateCluster[1]; ok && n > 1 {
			ratio += fmt.Sprintf(", %.2f× of 1 process", v/one)
		}
		fmt.Fprintf(&b, "| `aggregate run`, cluster, %d process(es) | %.0f | %s |\n", n, v, ratio)
	}
	return b.String()
}
