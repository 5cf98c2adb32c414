package ingestcli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"tagpulse/internal/command"
	"tagpulse/internal/ingest"
	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/post"
	"tagpulse/internal/publish"
	"tagpulse/internal/source"
)

// pipeline holds the settings run and file share: Kafka, the writer and
// what a post may be.
type pipeline struct {
	kafka   kafkaclient.Config
	publish publish.Config
	ingest  ingest.Config
	logs    command.Logging
	// The accounts and instances excluded, and a file of more
	// (ingest.LoadExclusions).
	excludeAccounts, excludeInstances []string
	excludeFile                       string
}

func (p *pipeline) registerFlags(s *command.FlagSet) {
	p.ingest = ingest.DefaultConfig()
	p.kafka.RegisterFlags(s)
	p.publish.RegisterFlags(s)
	p.logs.RegisterFlags(s)
	s.Int(&p.ingest.MaxTextBytes, "max-text-bytes", "INGEST_MAX_TEXT_BYTES", post.MaxTextBytes, "posts with more text than this are rejected (too_large)")
	s.Duration(&p.ingest.MaxFutureSkew, "max-future-skew", "INGEST_MAX_FUTURE_SKEW", p.ingest.MaxFutureSkew, "posts dated more than this after now (or before 2000) are rejected (invalid_value); at most 24h")
	s.Int(&p.ingest.PublishInFlight, "publish-in-flight", "INGEST_PUBLISH_IN_FLIGHT", p.ingest.PublishInFlight, "publish calls of one poll or webhook request that may wait for Kafka at once, while the source is read on")
	s.Int64(&p.ingest.MemoryLimit, "memory-limit", "INGEST_MEMORY_LIMIT", p.ingest.MemoryLimit, "soft memory limit of the process in bytes (0: the Go runtime's, GOMEMLIMIT)")
	s.Strings(&p.excludeAccounts, "exclude-account", "INGEST_EXCLUDE_ACCOUNTS", nil, `accounts whose posts are not published, repeatable or comma-separated: "user@instance" (Mastodon), a DID (Bluesky), an author as files and the webhook give it`)
	s.Strings(&p.excludeInstances, "exclude-instance", "INGEST_EXCLUDE_INSTANCES", nil, "instances (domains, with their subdomains) whose posts are not published: matched on the author's domain and the post's URL host, repeatable or comma-separated")
	s.String(&p.excludeFile, "exclude-file", "INGEST_EXCLUDE_FILE", "", `file of more exclusions, one a line: "account NAME" or "instance DOMAIN" ('#' comments)`)
}

// start sets the memory limit, creates the topic and its dead-letter topic
// when missing, and builds the publisher and the runner. The settings were validated by
// command.Start.
func (p *pipeline) start(ctx context.Context, reg prometheus.Registerer, log *slog.Logger) (*publish.Publisher, *ingest.Runner, error) {
	excl, err := ingest.LoadExclusions(p.excludeAccounts, p.excludeInstances, p.excludeFile)
	if err != nil {
		return nil, nil, err
	}
	if accounts, instances := excl.Len(); accounts+instances > 0 {
		log.Info("excluding accounts and instances", "accounts", accounts, "instances", instances)
	}
	p.ingest.Exclusions = excl
	command.ApplyMemoryLimit(p.ingest.MemoryLimit)
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.kafka.EnsureTopics(tctx, p.kafka.Topic, p.kafka.DLQTopic()); err != nil {
		return nil, nil, err
	}
	pub, err := publish.New(p.publish, &p.kafka, reg)
	if err != nil {
		return nil, nil, err
	}
	return pub, ingest.New(p.ingest, pub, ingest.Hashtags, reg, log), nil
}

// defaultStateDir is $XDG_STATE_HOME/tagpulse/ingest, else
// ~/.local/state/tagpulse/ingest, else ./state.
func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "tagpulse", "ingest")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "tagpulse", "ingest")
	}
	return "state"
}

func newRunCmd() *cobra.Command {
	var (
		pipe  pipeline
		specs []string // raw --source values, parsed into d.specs
		d     = daemon{pipe: &pipe}
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Pull every configured source and publish its posts to Kafka until stopped",
		Long: `run polls every --source KIND[@INTERVAL]=LOCATION on its own schedule (file:
a path or folder, read as "ingest file --help" says; rss: an RSS or Atom URL;
mastodon: a Mastodon-compatible timeline URL; mastodon-stream: the same URL,
read through the streaming API; bluesky: a Jetstream websocket URL; for the
two streams INTERVAL is how long each poll gathers posts, default 5s),
serves the webhook when --webhook-addr is set (POST /v1/posts: posts in the
format of "ingest file --help", with their optional hashtags; DELETE
/v1/posts/ID: the tombstone of a post), and publishes each new post once
to Kafka; a post deleted at its source (a JSONL tombstone line, a Mastodon
stream's delete event, a Bluesky delete commit) is published as its
tombstone, keyed by the post id. Posts that are not public, and those of
--exclude-account and --exclude-instance, are not published. Cursors live in --state-dir, so a restart or a
second --once run publishes nothing twice. SIGTERM stops fetching, flushes
everything in flight and exits.`,
		Example: `  ingest run --source rss=https://example.org/feed.xml \
    --source mastodon@2m=https://mastodon.social/api/v1/timelines/tag/otan
  ingest run --source 'bluesky=wss://jetstream2.us-east.bsky.network/subscribe?lang=fr&tag=otan'
  INGEST_WEBHOOK_TOKEN=… ingest run --webhook-addr 127.0.0.1:8081
  ingest run --once --source file=archive/`,
		Args: cobra.NoArgs,
	}
	flags := command.Flags(cmd)
	pipe.registerFlags(flags)
	flags.Bool(&d.once, "once", "INGEST_ONCE", false, "poll every source once, then exit")
	cmd.Flags().StringArrayVar(&specs, "source", nil, "source KIND[@INTERVAL]=LOCATION, repeatable (env INGEST_SOURCES, separated by spaces)")
	flags.String(&d.webhookAddr, "webhook-addr", "INGEST_WEBHOOK_ADDR", "", `address of the webhook (POST /v1/posts, DELETE /v1/posts/ID); "" = off; needs INGEST_WEBHOOK_TOKEN`)
	flags.String(&d.metricsAddr, "metrics-addr", "INGEST_METRICS_ADDR", "127.0.0.1:9101", `address serving /metrics and /healthz; "" = off`)
	flags.String(&d.stateDir, "state-dir", "INGEST_STATE_DIR", defaultStateDir(), "directory of the sources' cursors")
	flags.DescribeDefault("state-dir", "$XDG_STATE_HOME/tagpulse/ingest, else ~/.local/state/tagpulse/ingest")
	flags.Duration(&pipe.ingest.Interval, "poll-interval", "INGEST_POLL_INTERVAL", pipe.ingest.Interval, "default time between two polls of a source")
	flags.Duration(&d.fetchTimeout, "fetch-timeout", "INGEST_FETCH_TIMEOUT", 30*time.Second, "timeout of one HTTP fetch")
	flags.Strings(&d.allowHosts, "source-allow-hosts", "INGEST_SOURCE_ALLOW_HOSTS", nil, `hosts the rss, mastodon, mastodon-stream and bluesky sources (and their redirects) may reach, comma-separated; ".example.org" allows its subdomains; empty = any`)
	flags.Int(&d.rateLimit, "webhook-rate-limit", "INGEST_WEBHOOK_RATE_LIMIT", 50, "webhook requests a second one client may make on average (429 with Retry-After beyond); 0 = no limit")
	flags.Int(&d.rateBurst, "webhook-rate-burst", "INGEST_WEBHOOK_RATE_BURST", 100, "webhook requests one client may make in a row before the rate limit applies")

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := pipe.logs.Start(cmd, flags, &pipe.kafka, &pipe.ingest)
		if err != nil {
			return err
		}
		if len(specs) == 0 {
			specs = strings.Fields(os.Getenv("INGEST_SOURCES"))
		}
		if len(specs) == 0 && d.webhookAddr == "" {
			return errors.New("run: nothing to do: give --source KIND=LOCATION or --webhook-addr")
		}
		if d.once && d.webhookAddr != "" {
			return errors.New("run: --once polls sources and exits; it cannot serve the webhook")
		}
		d.specs = make([]source.Spec, 0, len(specs))
		for _, s := range specs {
			spec, err := source.ParseSpec(s)
			if err != nil {
				return err
			}
			d.specs = append(d.specs, spec)
		}
		if d.webhookAddr != "" {
			if d.rateLimit < 0 || d.rateBurst < 1 {
				return fmt.Errorf("run: --webhook-rate-limit must not be negative (got %d) and --webhook-rate-burst must be at least 1 (got %d)", d.rateLimit, d.rateBurst)
			}
			if d.token, err = command.Secret("INGEST_WEBHOOK_TOKEN"); err != nil {
				return err
			}
			if d.token == "" {
				return source.ErrNoToken
			}
		}
		return runDaemon(cmd.Context(), d, log)
	}
	return cmd
}

// daemon is what `ingest run` runs: its flags, the parsed sources and the
// webhook token.
type daemon struct {
	pipe         *pipeline
	once         bool
	specs        []source.Spec
	webhookAddr  string
	token        string
	metricsAddr  string
	stateDir     string
	fetchTimeout time.Duration
	allowHosts   []string
	rateLimit    int
	rateBurst    int
}

func runDaemon(ctx context.Context, d daemon, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	pub, runner, err := d.pipe.start(ctx, reg, log)
	if err != nil {
		return err
	}
	// Closing the writer flushes it; it runs after the webhook and the
	// pollers have returned, so nothing they handed over is left behind.
	defer func() {
		if err := pub.Close(); err != nil {
			log.Error("closing Kafka writer", "err", err)
		}
	}()

	state, err := source.OpenState(d.stateDir)
	if err != nil {
		return err
	}
	client := source.NewHTTPClient(d.fetchTimeout, d.allowHosts...)
	var scheduled []ingest.Scheduled
	counts := map[string]int{}
	sourceMetrics := source.NewMetrics(reg)
	for _, spec := range d.specs {
		counts[spec.Kind]++
		src, err := source.New(spec, source.Options{
			Name:         sourceName(spec.Kind, counts[spec.Kind]),
			State:        state,
			Client:       client,
			MaxTextBytes: d.pipe.ingest.MaxTextBytes,
			AllowHosts:   d.allowHosts,
			Metrics:      sourceMetrics,
			Log:          log,
		})
		if err != nil {
			return err
		}
		interval := spec.Interval
		if source.Streaming(spec.Kind) {
			// A stream's poll lasts one window (spec.Interval); the next
			// follows at once.
			interval = time.Millisecond
		}
		scheduled = append(scheduled, ingest.Scheduled{Source: src, Interval: interval})
		log.Info("source configured", "source", src.Name(), "kind", spec.Kind, "location", spec.Location)
	}

	// The servers and the pollers run as one group: a server that stops on
	// its own (its port taken away, say) stops the whole daemon, and Wait
	// returns the first error. When the pollers' run is over (--once, or
	// the context ended) the servers stop too, the webhook after its
	// in-flight requests have been published and answered.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	g, ctx := errgroup.WithContext(ctx)
	var servers []func() error
	serve := func(ln net.Listener, h http.Handler) {
		servers = append(servers, func() error { return command.Serve(ctx, ln, h, log) })
	}
	if d.metricsAddr != "" {
		ln, err := command.Listen(d.metricsAddr)
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		serve(ln, mux)
	}
	if d.webhookAddr != "" {
		runner.Register(source.KindWebhook, false)
		hook, err := source.NewWebhook(source.WebhookConfig{
			Token: d.token, MaxTextBytes: d.pipe.ingest.MaxTextBytes,
			RateLimit: float64(d.rateLimit), RateBurst: d.rateBurst,
		},
			func(ctx context.Context, items []source.Item) ([]source.Skipped, error) {
				return runner.Deliver(ctx, source.KindWebhook, items)
			},
			reg, log)
		if err != nil {
			return err
		}
		ln, err := command.Listen(d.webhookAddr)
		if err != nil {
			return err
		}
		serve(ln, hook.Handler())
	}
	for _, s := range servers {
		g.Go(s)
	}
	g.Go(func() error {
		defer stop()
		total, err := runner.Run(ctx, scheduled, d.once)
		if d.once {
			log.Info("all sources polled once", "read", total.Read, "published", total.Published,
				"duplicates", total.Duplicates, "rejected", total.RejectedTotal(), "failed", total.Failed)
			return err
		}
		if err == nil {
			// Run returns at once when there is no source to poll; a
			// daemon serving only the webhook runs until it is stopped.
			<-ctx.Done()
		}
		return err
	})
	return g.Wait()
}

// sourceName names the n-th configured source of a kind: the kind itself
// for the first (file, rss, mastodon, …), KIND-n from the second on
// (rss-2). The name labels the source's metrics and is the source of the
// posts it publishes that do not name their own, so `--source rss` in a
// query and source="rss" in a metric mean the same posts.
func sourceName(kind string, n int) string {
	if n == 1 {
		return kind
	}
	return fmt.Sprintf("%s-%d", kind, n)
}
