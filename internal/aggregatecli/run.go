package aggregatecli

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"tagpulse/internal/aggregator"
	"tagpulse/internal/chstore"
	"tagpulse/internal/cliflags"
	"tagpulse/internal/envflag"
	"tagpulse/internal/httpserver"
	"tagpulse/internal/kafkaclient"
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
		api       = web.DefaultConfig()
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Consume posts from Kafka and write exact hashtag counts to ClickHouse until stopped",
		Long: `run consumes the posts topic in the consumer group KAFKA_GROUP, writes one
mention row per post and hashtag to ClickHouse in batches, and commits the
Kafka offsets of a batch only once it is stored. Poison messages go to
<topic>.dlq. It serves /metrics, /healthz and /readyz on --http-addr and
drops partitions older than --retention every hour.

With --until-caught-up it exits 0 once everything up to the end offsets the
topic had at start is written and committed.`,
		Args: cobra.NoArgs,
	}
	flags := cliflags.Flags(cmd)
	set.registerFlags(flags)
	flags.String(&httpAddr, "http-addr", "AGGREGATE_HTTP_ADDR", DefaultHTTPAddr, "address of the HTTP server (metrics, health, API, page); empty disables it")
	flags.Duration(&retention, "retention", "AGGREGATE_RETENTION", 90*24*time.Hour, "drop ClickHouse partitions older than this; 0 keeps everything")
	flags.Bool(&caughtUp, "until-caught-up", "", false, "exit 0 once everything up to the end offsets seen at start is written and committed")
	api.RegisterFlags(flags)

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := set.start(cmd, flags)
		if err != nil {
			return err
		}
		if retention < 0 {
			return fmt.Errorf("--retention must not be negative, got %s", retention)
		}
		if err := api.Validate(); err != nil {
			return err
		}
		ctx := cmd.Context()
		if _, err := chstore.Migrate(ctx, set.store); err != nil {
			return fmt.Errorf("migrating ClickHouse schema: %w", err)
		}
		conn, err := chstore.Open(ctx, set.store)
		if err != nil {
			return err
		}
		defer conn.Close()

		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		c := set.newConsumer(conn, reg, log)

		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		errc := make(chan error, 2)
		running := 0
		if httpAddr != "" {
			ln, err := httpserver.Listen(httpAddr)
			if err != nil {
				return err
			}
			running++
			trends := web.NewHandler(web.Options{
				Store: trend.NewStore(conn, trend.DefaultParams()), Registerer: reg, Logger: log, Now: time.Now,
				Config: api, ListenAddr: httpAddr,
			})
			go func() { errc <- httpserver.Serve(ctx, ln, newMux(reg, c, trends), log) }()
		}
		if retention > 0 {
			go aggregator.RunRetention(ctx, conn, retention, time.Hour, log)
		}
		err = c.Run(ctx, aggregator.RunOptions{UntilCaughtUp: caughtUp})
		cancel()
		for ; running > 0; running-- {
			if herr := <-errc; herr != nil && err == nil {
				err = herr
			}
		}
		return err
	}
	return cmd
}

// consuming holds the settings of the commands that write posts from
// Kafka to ClickHouse (run, replay): Kafka, ClickHouse, the consumer and
// logging.
type consuming struct {
	kafka    kafkaclient.Config
	store    chstore.Config
	consumer aggregator.Config
	logs     cliflags.Logging
}

func (s *consuming) registerFlags(flags *envflag.Set) {
	s.kafka.RegisterFlags(flags)
	s.store.RegisterFlags(flags)
	s.consumer.RegisterFlags(flags)
	s.logs.RegisterFlags(flags)
}

// start is the first step of run and replay: it checks the settings,
// builds the logger and sets the process's soft memory limit.
func (s *consuming) start(cmd *cobra.Command, flags *envflag.Set) (*slog.Logger, error) {
	log, err := s.logs.Start(cmd, flags, &s.kafka, &s.store, &s.consumer)
	if err != nil {
		return nil, err
	}
	cliflags.ApplyMemoryLimit(s.consumer.MemoryLimit)
	return log, nil
}

// newConsumer builds the consumer that writes through conn.
func (s *consuming) newConsumer(conn driver.Conn, reg prometheus.Registerer, log *slog.Logger) *aggregator.Consumer {
	return aggregator.New(aggregator.Options{
		Config: s.consumer, Kafka: &s.kafka, Store: conn, Metrics: aggregator.NewMetrics(reg), Log: log,
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
