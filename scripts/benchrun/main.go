// Command benchrun is the end-to-end half of `make bench` (scripts/bench):
// it runs internal/testkit/benchrun against the local stack, prints the table and,
// with -write, puts it into BENCHMARKS.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"tagpulse/internal/testkit/benchrun"
)

func main() {
	cfg := benchrun.DefaultConfig()
	smoke := flag.Bool("smoke", false, "tiny run for correctness only (2,000 posts, one run each)")
	write := flag.String("write", "", "file to write the results into (between its bench markers)")
	flag.IntVar(&cfg.Runs, "runs", cfg.Runs, "measurements of each figure (the table gives medians)")
	flag.StringVar(&cfg.Bin, "bin", cfg.Bin, "directory of the ingest and aggregate binaries")
	flag.IntVar(&cfg.FreshRate, "fresh-rate", cfg.FreshRate, "posts/s offered in the freshness measurement")
	flag.DurationVar(&cfg.FreshDuration, "fresh-duration", cfg.FreshDuration, "length of the freshness measurement")
	flag.BoolVar(&cfg.SkipPeer, "skip-peer", false, "leave out ClickHouse's Kafka engine")
	flag.Parse()
	if *smoke {
		s := benchrun.SmokeConfig()
		s.Bin = cfg.Bin
		cfg = s
	}
	if v := os.Getenv("BENCH_POSTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "benchrun: BENCH_POSTS=%q is not a positive number\n", v)
			os.Exit(2)
		}
		cfg.Corpus.Posts = n
	}
	level := slog.LevelInfo
	if os.Getenv("BENCH_DEBUG") != "" {
		level = slog.LevelDebug
	}
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	r, err := benchrun.Run(ctx, cfg)
	if r != nil {
		command := os.Getenv("BENCH_COMMAND")
		if command == "" {
			command = "go run ./scripts/benchrun " + strings.Join(os.Args[1:], " ")
		}
		if v := os.Getenv("BENCH_POSTS"); v != "" {
			command = "BENCH_POSTS=" + v + " " + command
		}
		env := benchrun.DescribeEnvironment(strings.TrimSpace(command))
		md := r.Markdown(env)
		fmt.Println(md)
		if *write != "" && err == nil {
			if werr := benchrun.WriteInto(*write, md); werr != nil {
				fmt.Fprintln(os.Stderr, "benchrun:", werr)
				os.Exit(1)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}
