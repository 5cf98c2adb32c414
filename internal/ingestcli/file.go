package ingestcli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"tagpulse/internal/command"
	"tagpulse/internal/ingest"
	"tagpulse/internal/source"
)

// fileBatchSize is how many posts `ingest file` hands the publisher per call.
const fileBatchSize = 5000

func newFileCmd() *cobra.Command {
	var (
		pipe   pipeline
		strict bool
	)
	cmd := &cobra.Command{
		Use:   "file PATH...",
		Short: "Publish the posts of JSONL archives, plain-text files or folders of them, then exit",
		Long: `file publishes every post of the given files to Kafka and exits: JSONL
archives (.jsonl, .ndjson, .json: one post object per line), plain-text files
(one post per file) and folders of them, recursively in lexical order. Post
ids are stable: a JSONL line keeps its id, a text file's id comes from its
name and content, so a second run publishes the same ids again (aggregate
counts each once). Inside folders, links to regular files are followed;
named pipes, devices and links to folders are reported, never read, and a
named pipe given directly is refused. A progress bar goes to stderr when it
is a terminal; a summary ends the run: one line of counts, then the
file:line and reason of each rejected post (the first 20, then how many
more). The exit status is non-zero when any post could not be published,
and with --strict also when any was rejected.`,
		Example: `  ingest file samples/posts/nif2025-linkedin-post.txt
  ingest file archive/2025-11.jsonl more-posts/`,
		Args: cobra.MinimumNArgs(1),
	}
	flags := command.Flags(cmd)
	pipe.registerFlags(flags)
	flags.Bool(&strict, "strict", "INGEST_STRICT", false, "exit non-zero when any post was rejected (the others are still published)")
	cmd.RunE = func(cmd *cobra.Command, paths []string) error {
		log, err := pipe.logs.Start(cmd, flags, &pipe.kafka, &pipe.ingest)
		if err != nil {
			return err
		}
		src, err := source.NewFile(paths, source.Options{Name: source.KindFile, MaxTextBytes: pipe.ingest.MaxTextBytes, Once: true})
		if err != nil {
			return err
		}
		files, err := src.Files()
		if err != nil {
			return err
		}
		// An archive is read much faster than Kafka answers a call: larger
		// calls than a daemon's keep the writer's per-partition batches
		// full (500 → 5,000: 1.5–1.9× in BENCHMARKS.md).
		pipe.ingest.BatchSize = fileBatchSize
		pub, runner, err := pipe.start(cmd.Context(), prometheus.NewRegistry(), log)
		if err != nil {
			return err
		}
		var total int64
		for _, f := range files {
			total += f.Size
		}
		bar := newProgress(cmd.ErrOrStderr(), total)
		src.Progress = bar.update
		_, stats, pollErr := runner.Poll(cmd.Context(), src)
		bar.done()
		closeErr := pub.Close()
		fmt.Fprintln(cmd.OutOrStdout(), summary(len(files), stats))
		switch {
		case pollErr != nil:
			return fmt.Errorf("file: %w", pollErr)
		case closeErr != nil:
			return closeErr
		case stats.Failed > 0:
			return fmt.Errorf("file: %d posts not published", stats.Failed)
		case strict && stats.RejectedTotal() > 0:
			return fmt.Errorf("file: %d posts rejected (--strict)", stats.RejectedTotal())
		}
		return nil
	}
	return cmd
}

// summary is what `ingest file` ends with: a line of counts, then one line
// per rejection kept (ingest.MaxRejections), then how many more there were.
func summary(files int, s ingest.Stats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d files: %d posts read, %d published, %d rejected", files, s.Read, s.Published, s.RejectedTotal())
	if len(s.Rejected) > 0 {
		reasons := make([]string, 0, len(s.Rejected))
		for r, n := range s.Rejected {
			if n > 0 {
				reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
			}
		}
		sort.Strings(reasons)
		if len(reasons) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(reasons, ", "))
		}
	}
	fmt.Fprintf(&b, ", %d failed, %d hashtags", s.Failed, s.Hashtags)
	for _, rj := range s.Rejections {
		fmt.Fprintf(&b, "\n  rejected %s", rj)
	}
	if more := s.RejectedTotal() - len(s.Rejections); more > 0 && len(s.Rejections) > 0 {
		fmt.Fprintf(&b, "\n  and %d more rejected", more)
	}
	return b.String()
}

// progress draws a bar of bytes read on a terminal; elsewhere it is silent,
// so logs and pipes get no control characters.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	total int64
	on    bool
	last  time.Time
}

func newProgress(w io.Writer, total int64) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, total: total, on: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progress) update(n int64) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond || n >= p.total {
		p.last = now
		p.draw(n)
	}
}

func (p *progress) draw(n int64) {
	const width = 30
	frac := 1.0
	if p.total > 0 {
		frac = min(float64(n)/float64(p.total), 1)
	}
	filled := int(frac * width)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %s / %s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), frac*100, bytesString(n), bytesString(p.total))
}

func (p *progress) done() {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw(p.total)
	fmt.Fprintln(p.w)
}

func bytesString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
