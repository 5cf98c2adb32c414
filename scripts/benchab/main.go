// Command benchab compares builds of tagpulse on the local stack: it builds
// each git revision given (or "." for the working tree) into a temporary
// directory, then runs internal/testkit/benchrun's Compare, which alternates the
// builds round by round on one corpus and prints a table of medians. It is
// how the before/after tables of BENCHMARKS.md are made:
//
//	go run ./scripts/benchab 06f9d08 .
//	go run ./scripts/benchab -runs 7 -posts 100000 HEAD~3 HEAD
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"tagpulse/internal/testkit/benchrun"
	"tagpulse/internal/testkit/stacktest"
)

func main() {
	cfg := benchrun.DefaultConfig()
	flag.IntVar(&cfg.Runs, "runs", 5, "rounds (each build runs once per round)")
	flag.IntVar(&cfg.Corpus.Posts, "posts", cfg.Corpus.Posts, "posts in the corpus")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/benchab [-runs N] [-posts N] REV REV [REV...]   (REV \".\" is the working tree)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 2 {
		flag.Usage()
		os.Exit(2)
	}
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "benchab:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg benchrun.Config, revs []string) error {
	tmp, err := os.MkdirTemp("", "tagpulse-benchab-builds-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var builds []benchrun.Build
	for i, rev := range revs {
		bin := filepath.Join(tmp, fmt.Sprintf("bin%d", i))
		if err := build(ctx, rev, filepath.Join(tmp, fmt.Sprintf("src%d", i)), bin); err != nil {
			return fmt.Errorf("building %s: %w", rev, err)
		}
		builds = append(builds, benchrun.Build{Name: rev, Bin: bin})
	}
	c, err := benchrun.Compare(ctx, cfg, builds)
	if err != nil {
		return err
	}
	fmt.Printf("%d posts, %d rounds, builds alternated; wall times include start-up.\n\n%s", c.Posts, cfg.Runs, c.Markdown())
	return nil
}

// build compiles ingest and aggregate of rev into bin; rev "." is the
// working tree, any other a git revision checked out in src.
func build(ctx context.Context, rev, src, bin string) error {
	dir := "."
	if rev != "." {
		if err := command(ctx, ".", "git", "worktree", "add", "--detach", src, rev); err != nil {
			return err
		}
		defer command(context.Background(), ".", "git", "worktree", "remove", "--force", src)
		dir = src
	}
	out, err := stacktest.Build(ctx, dir, bin)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	return nil
}

func command(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, os.Stderr, os.Stderr
	return cmd.Run()
}
