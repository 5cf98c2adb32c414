// Command readbench is the read half of `make bench` (scripts/bench): it
// runs internal/testkit/readbench against the local stack's ClickHouse
// servers, prints the tables and, with -write, puts them into
// BENCHMARKS.md between the readbench markers.
//
//	go run ./scripts/readbench -sizes 2000000,20000000 -write BENCHMARKS.md
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
	"tagpulse/internal/testkit/readbench"
)

func main() {
	cfg := readbench.DefaultConfig()
	sizes := flag.String("sizes", "2000000,20000000", "history sizes in posts, comma-separated")
	servers := flag.String("servers", "18,26", "which servers of the stack: 18 (127.0.0.1:9000), 26 (127.0.0.1:9001), or both")
	write := flag.String("write", "", "file to write the results into (between its readbench markers)")
	flag.IntVar(&cfg.Runs, "runs", cfg.Runs, "timed runs of each read")
	flag.IntVar(&cfg.Days, "days", cfg.Days, "days the history covers")
	flag.Parse()
	cfg.Sizes = nil
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fail(fmt.Errorf("-sizes: %q is not a positive number", s))
		}
		cfg.Sizes = append(cfg.Sizes, n)
	}
	all := cfg.Servers
	cfg.Servers = nil
	for _, s := range strings.Split(*servers, ",") {
		switch strings.TrimSpace(s) {
		case "18":
			cfg.Servers = append(cfg.Servers, all[0])
		case "26":
			cfg.Servers = append(cfg.Servers, all[1])
		default:
			fail(fmt.Errorf("-servers: %q, want 18, 26 or 18,26", s))
		}
	}
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	r, err := readbench.Run(ctx, cfg)
	if err != nil {
		fail(err)
	}
	if err := benchrun.Section("readbench", "go run ./scripts/readbench", *write, func(env benchrun.Environment) string {
		return r.Markdown(env.Command, env.Commit, env.Date, env.Machine)
	}); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "readbench:", err)
	os.Exit(1)
}
