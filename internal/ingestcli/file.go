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
		Short: "Publish the posts of JSON, JSONL, CSV or plain-text files or folders of them, then exit",
		Long: `file publishes every post of the given files to Kafka and exits.

Files, by extension (in folders, recursively in lexical order, hidden
entries skipped; a file of another extension is skipped in a folder and
read as plain text when named directly):
  .jsonl .ndjson .json  one post object per line; or, when the file's first
                        character is "[", one JSON array of post objects,
                        pretty-printed or not, read one element at a time
  .csv                  a header row naming post fields (below; other
                        columns are ignored), then one post per row; the
                        hashtags column holds tags separated by spaces or
                        commas, deleted and indexable true or false; a
                        header without id, or without both text and
                        deleted, rejects the file
  .txt .text .md        the whole file is one post; its id comes from its
                        name and content, its created_at is its mtime
A UTF-8 byte order mark is skipped. A line, an array element or a CSV row
over 1 MiB is rejected alone.

The post (the same for the webhook and ingest extract):
  id          string, required: the post's stable id; aggregate counts an id
              once, so running file again publishes nothing twice
  text        string, required, at most --max-text-bytes: what the hashtags
              are extracted from
  created_at  RFC 3339 string ("2025-11-05T09:00:00Z"), the minute the post
              is counted in; missing or null: the time of ingestion; from
              2000-01-01 to --max-future-skew after now, else rejected; an
              epoch number (seconds or milliseconds) is rejected, not guessed
  source      the post's source label, which the top/trending/series
              --source filter matches; kept as given, "file" when missing
  lang        the post's language, which --lang filters on; kept as given,
              never detected: a post without it matches no --lang filter
  author, url kept as given (at most 2 KiB each)
  hashtags    optional array of tags the producer already knows ("#otan" or
              "otan"), merged with the extracted ones: canonicalised alike,
              counted once, the same bounds (256 bytes, 100 tags a post)
  deleted     true: a tombstone, the post with this id was deleted at its
              source and stops counting; only id is needed (and created_at,
              the post's own, when known); text and hashtags are not read
  indexable   false: the author does not allow indexing; the post counts,
              its text and author are neither stored nor shown
  visibility  public (as when absent), unlisted, private or direct: only
              public posts are published, the others are skipped
Other fields are ignored. --exclude-account, --exclude-instance and
--exclude-file keep accounts and instances out of the counts.

Inside folders, links to regular files are followed; named pipes, devices
and links to folders are reported, never read, and a named pipe given
directly is refused. A progress bar goes to stderr when it is a terminal; a
summary ends the run: one line of counts, then the file:line and reason of
each rejected post (the first 20, then how many more). The exit status is
non-zero when any post could not be published, and with --strict also when
any was rejected. docs/ingest.md has the details.`,
		Example: `  ingest file samples/posts/nif2025-linkedin-post.txt
  ingest file archive/2025-11.jsonl export.json posts.csv more-posts/`,
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
	fmt.Fprintf(&b, "%d files: %d posts read, %d published", files, s.Read, s.Published)
	if s.Tombstones > 0 {
		fmt.Fprintf(&b, " (%d tombstones)", s.Tombstones)
	}
	fmt.Fprintf(&b, ", %d rejected%s", s.RejectedTotal(), byReason(s.Rejected))
	if n := s.SkippedTotal(); n > 0 {
		fmt.Fprintf(&b, ", %d skipped%s", n, byReason(s.Skipped))
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

// byReason writes counts by reason as " (a 1, b 2)", sorted, leaving out
// the zeros; "" when all are.
func byReason(counts map[string]int) string {
	reasons := make([]string, 0, len(counts))
	for r, n := range counts {
		if n > 0 {
			reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
		}
	}
	if len(reasons) == 0 {
		return ""
	}
	sort.Strings(reasons)
	return " (" + strings.Join(reasons, ", ") + ")"
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
