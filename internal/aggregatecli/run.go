package aggregatecli

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"tagpulse/internal/aggregator"
	"tagpulse/internal/alert"
	"tagpulse/internal/chstore"
	"tagpulse/internal/command"
	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/retry"
	"tagpulse/internal/rollup"
	"tagpulse/internal/topic"
	"tagpulse/internal/trend"
	"tagpulse/internal/web"
)

// DefaultHTTPAddr is where `aggregate run` serves metrics, health, the
// trend API and the page.
const DefaultHTTPAddr = "127.0.0.1:8080"

func newRunCmd() *cobra.Command {
	var (
		set       consuming
		httpAddr  string
		retention time.Duration
		caughtUp  bool
		rollupInt time.Duration
		api       = web.DefaultConfig()
		alerts    alert.Config
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Consume posts from Kafka and write exact hashtag counts to ClickHouse until stopped",
		Long: `run consumes the posts topic in the consumer group KAFKA_GROUP, writes one
mention row per post and hashtag to ClickHouse in batches, and commits the
Kafka offsets of a batch only once it is stored. Poison messages go to
<topic>.dlq (--poison-policy says what happens when most messages are
poison). It serves /metrics, /healthz and /readyz on --http-addr and drops
partitions older than --retention every hour. A ClickHouse that does not
answer at start is waited for, /readyz false meanwhile; the HTTP server and
the consumer stop together when either fails. With --alerts-file it
evaluates the alert rules of that file every minute and posts what fires
to their webhooks (docs/alerts.md).

With --until-caught-up it exits 0 once everything up to the end offsets the
topic had at start is written and committed, and says on stderr what it
loaded: messages read, posts, mentions written, dead letters, partitions
and the time taken. Such a one-shot run serves no HTTP unless --http-addr
(or AGGREGATE_HTTP_ADDR) is given, so it runs beside a daemon that holds
the default port.`,
		Args: cobra.NoArgs,
	}
	flags := command.Flags(cmd)
	set.registerFlags(flags)
	flags.String(&httpAddr, "http-addr", "AGGREGATE_HTTP_ADDR", DefaultHTTPAddr, "address of the HTTP server (metrics, health, API, page); empty disables it; a run --until-caught-up serves it only when this is given")
	flags.Duration(&retention, "retention", "AGGREGATE_RETENTION", 90*24*time.Hour, "drop ClickHouse partitions older than this; 0 keeps everything")
	flags.Bool(&caughtUp, "until-caught-up", "", false, "exit 0 once everything up to the end offsets seen at start is written and committed, and its hour and day rollups are up to date")
	flags.Duration(&rollupInt, "rollup-interval", "AGGREGATE_ROLLUP_INTERVAL", 30*time.Second, "how often to bring the hour and day rollups up to date with the rows written (docs/schema-v2.md); 0 runs no rollup in this process (reads stay exact, only slower)")
	api.RegisterFlags(flags)
	alerts.RegisterFlags(flags)

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := set.start(cmd, flags)
		if err != nil {
			return err
		}
		if retention < 0 {
			return fmt.Errorf("--retention must not be negative, got %s", retention)
		}
		if rollupInt < 0 {
			return fmt.Errorf("--rollup-interval must not be negative, got %s", rollupInt)
		}
		if err := api.Validate(); err != nil {
			return err
		}
		rules, err := alerts.Load()
		if err != nil {
			return err
		}
		if caughtUp && !httpAddrGiven(cmd) {
			httpAddr = ""
		}
		started := time.Now()
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		metrics := aggregator.NewMetrics(reg)
		alertMetrics := alert.NewMetrics(reg) // exported with or without rules
		rollupMetrics := rollup.NewMetrics(reg)

		// The connection dials on demand: the API can be served (and
		// fail like any query while ClickHouse is away) before
		// ClickHouse answers, and waitForClickHouse waits for it.
		opts, err := set.store.Options()
		if err != nil {
			return err
		}
		conn, err := clickhouse.Open(opts)
		if err != nil {
			return fmt.Errorf("opening ClickHouse connection to %v: %w", opts.Addr, err)
		}
		defer conn.Close()
		trends := web.NewHandler(web.Options{
			Store: trend.NewStore(conn, trend.DefaultParams()).OnCluster(set.store), Topics: topic.NewStore(conn, rollup.MarkTopics),
			Registerer: reg, Logger: log, Now: time.Now, Config: api, ListenAddr: httpAddr,
		})
		c := set.newConsumer(conn, metrics, log)

		// The HTTP server and the consumer run as one group: either
		// failing stops the other, and Wait returns the first error. A
		// run --until-caught-up that ends stops the server too.
		ctx, stop := context.WithCancel(cmd.Context())
		defer stop()
		g, ctx := errgroup.WithContext(ctx)
		if httpAddr != "" {
			// Bound first, so a port in use is reported at once.
			ln, err := command.Listen(httpAddr)
			if err != nil {
				return err
			}
			g.Go(func() error { return command.Serve(ctx, ln, newMux(reg, c, trends), log) })
		}
		if rules != nil && !caughtUp {
			ev := newEvaluator(rules, conn, set.store, alertMetrics, log)
			g.Go(func() error { return ev.Run(ctx) })
		}
		g.Go(func() error {
			defer stop()
			if err := set.waitForClickHouse(ctx, conn, log); err != nil {
				if ctx.Err() != nil {
					return nil // stopped while waiting
				}
				return err
			}
			// On a cluster each shard keeps its own tables: a rollup
			// worker and retention per shard (docs/scaling.md).
			owners, shards, closeShards, err := tableOwners(ctx, set.store, conn)
			if err != nil {
				return err
			}
			defer closeShards()
			if shards != nil && retention > 0 {
				// The tables every server shares (alert claims, topic
				// edit marks) have their own place on a cluster.
				shared, closeShared, err := chstore.SharedTables(ctx, set.store, conn)
				if err != nil {
					return err
				}
				defer closeShared()
				go aggregator.RunRetention(ctx, shared, retention, time.Hour, log.With("tables", "shared"))
			}
			var workers []*rollup.Worker
			for i, oc := range owners {
				wlog := log
				if shards != nil {
					wlog = log.With("shard", i+1)
				}
				if retention > 0 {
					go aggregator.RunRetention(ctx, oc, retention, time.Hour, wlog)
				}
				w := rollup.NewWorker(oc, wlog, rollupMetrics)
				if rollupInt > 0 && !caughtUp {
					go w.Run(ctx, rollupInt)
				}
				workers = append(workers, w)
			}
			if err := c.Run(ctx, aggregator.RunOptions{UntilCaughtUp: caughtUp}); err != nil || !caughtUp || ctx.Err() != nil {
				return err
			}
			// A batch load answers fast at once: its rollups are done
			// before the run exits.
			for _, w := range workers {
				if err := catchUp(ctx, w, cmd.ErrOrStderr(), log); err != nil {
					return err
				}
			}
			return nil
		})
		if err := g.Wait(); err != nil {
			return err
		}
		if caughtUp {
			sum, err := summarise(reg, time.Since(started))
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), sum)
		}
		return nil
	}
	return cmd
}

// httpAddrGiven reports whether the HTTP address was asked for, by the
// flag or its environment variable, rather than left at its default.
func httpAddrGiven(cmd *cobra.Command) bool {
	return cmd.Flags().Changed("http-addr") || os.Getenv("AGGREGATE_HTTP_ADDR") != ""
}

// loadSummary is what a run --until-caught-up loaded, read from its
// metrics when it ends.
type loadSummary struct {
	messages, deadLetters, mentions uint64
	partitions                      int
	took                            time.Duration
}

func (s loadSummary) String() string {
	return fmt.Sprintf("caught up in %s: read %d messages from %d partitions: %d posts written as %d mentions, %d dead letters",
		s.took.Round(time.Millisecond), s.messages, s.partitions, s.messages-s.deadLetters, s.mentions, s.deadLetters)
}

// summarise reads the summary of a run from the aggregate metrics in g:
// every message is either a post or a dead letter, and the lag gauge has
// one series per partition consumed.
func summarise(g prometheus.Gatherer, took time.Duration) (loadSummary, error) {
	families, err := g.Gather()
	if err != nil {
		return loadSummary{}, fmt.Errorf("reading the run's metrics: %w", err)
	}
	s := loadSummary{took: took}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "tagpulse_aggregate_messages_consumed_total":
				s.messages += uint64(m.GetCounter().GetValue())
			case "tagpulse_aggregate_dlq_messages_total":
				s.deadLetters += uint64(m.GetCounter().GetValue())
			case "tagpulse_aggregate_rows_inserted_total":
				if labelValue(m, "table") == "mentions" {
					s.mentions += uint64(m.GetCounter().GetValue())
				}
			case "tagpulse_aggregate_consumer_lag_messages":
				s.partitions++
			}
		}
	}
	return s, nil
}

// labelValue returns the value of a metric's label, "" when it has none.
func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// consuming holds the settings of the commands that write posts from
// Kafka to ClickHouse (run, replay): Kafka, ClickHouse, the consumer and
// logging.
type consuming struct {
	kafka    kafkaclient.Config
	store    chstore.Config
	consumer aggregator.Config
	logs     command.Logging
}

func (s *consuming) registerFlags(flags *command.FlagSet) {
	s.kafka.RegisterFlags(flags)
	s.store.RegisterFlags(flags)
	s.consumer.RegisterFlags(flags)
	s.logs.RegisterFlags(flags)
}

// start is the first step of run and replay: it checks the settings,
// builds the logger and sets the process's soft memory limit.
func (s *consuming) start(cmd *cobra.Command, flags *command.FlagSet) (*slog.Logger, error) {
	log, err := s.logs.Start(cmd, flags, &s.kafka, &s.store, &s.consumer)
	if err != nil {
		return nil, err
	}
	command.ApplyMemoryLimit(s.consumer.MemoryLimit)
	return log, nil
}

// newConsumer builds the consumer that writes through conn.
func (s *consuming) newConsumer(conn driver.Conn, m *aggregator.Metrics, log *slog.Logger) *aggregator.Consumer {
	return aggregator.New(aggregator.Options{
		Config: s.consumer, Kafka: &s.kafka, Store: conn, Metrics: m, Log: log,
	})
}

// waitForClickHouse migrates the schema and checks that conn answers. A
// ClickHouse that does not answer yet (starting, or started after this
// process) is waited for with the consumer's backoff, each attempt logged,
// until ctx ends; /readyz is false meanwhile. An error no retry cures (a
// wrong password, say) ends the wait.
func (s *consuming) waitForClickHouse(ctx context.Context, conn driver.Conn, log *slog.Logger) error {
	p := retry.Policy{
		Backoff:   retry.Backoff{Min: s.consumer.RetryMin, Max: s.consumer.RetryMax},
		Retryable: aggregator.Retryable,
		OnFail: func(f retry.Failure) {
			if !f.Last {
				log.Warn("ClickHouse not ready at start; retrying", "attempt", f.Attempt, "retry_in", f.Wait.Round(time.Millisecond), "err", f.Err)
			}
		},
		OnRecover: func(attempt int) { log.Info("ClickHouse ready", "attempts", attempt) },
	}
	return p.Do(ctx, func(ctx context.Context) error {
		if _, err := chstore.MigrateProgress(ctx, s.store, os.Stderr); err != nil {
			return fmt.Errorf("migrating ClickHouse schema: %w", err)
		}
		if err := conn.Ping(ctx); err != nil {
			return fmt.Errorf("pinging ClickHouse: %w", err)
		}
		return nil
	})
}

// newMux builds the one HTTP mux of `aggregate run`: metrics and health
// beside the trend API and page, which take every other path.
func newMux(reg *prometheus.Registry, c *aggregator.Consumer, trends http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !c.Ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("/", trends)
	return mux
}
