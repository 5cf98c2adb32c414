// Command clusterbench is the cluster half of `make bench` (scripts/bench):
// it runs internal/testkit/clusterbench against the single stack and the
// cluster profile (scripts/stack up --cluster), prints the table and, with
// -write, puts it into BENCHMARKS.md between the clusterbench markers.
//
//	go run ./scripts/clusterbench -posts 100000 -write BENCHMARKS.md
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"tagpulse/internal/testkit/benchrun"
	"tagpulse/internal/testkit/clusterbench"
)

func main() {
	cfg := clusterbench.DefaultConfig()
	flag.IntVar(&cfg.Posts, "posts", cfg.Posts, "posts in the corpus")
	flag.StringVar(&cfg.Bin, "bin", cfg.Bin, "directory of the built ingest and aggregate")
	write := flag.String("write", "", "file to write the results into (between its clusterbench markers)")
	flag.Parse()
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	r, err := clusterbench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench:", err)
		os.Exit(1)
	}
	if err := benchrun.Section("clusterbench", "go run ./scripts/clusterbench", *write, func(env benchrun.Environment) string {
		return r.Markdown(env.Command, env.Commit, env.Date, env.Machine)
	}); err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench:", err)
		os.Exit(1)
	}
}
