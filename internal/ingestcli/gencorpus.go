package ingestcli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"tagpulse/internal/command"
	"tagpulse/internal/corpus"
)

func newGenCorpusCmd() *cobra.Command {
	var (
		output string
		posts  int
		seed   int64
		end    string
		span   time.Duration
		demo   bool
		days   int
	)
	cmd := &cobra.Command{
		Use:   "gen-corpus",
		Short: "Write a seeded, deterministic benchmark corpus of posts as JSONL",
		Long: `gen-corpus writes synthetic posts as JSONL (id, text, created_at, source,
lang), the corpus of make bench: multilingual text (French, English, German,
Spanish, Japanese, Korean, Arabic, Hindi) with emoji, and hashtags drawn from
a Zipf law over a vocabulary with accents, case and NFD variants, LinkedIn's
hashtag#Tag form, fullwidth letters and CJK tags, plus a long tail. The same
flags always write the same bytes. A summary of the expected counts goes to
stderr.

With --demo it writes the demo set of make run instead: a few thousand posts
over the --days days before now (or --end) in several languages, a dozen tags
at a steady pace and two (#SolarStorm, #Aurora) that burst in the last hours,
so the 1h Trending list shows them over a day of history. Posts lie on a grid
of absolute times and their ids come from the seed and the time, so a re-run
in the same hour republishes the same posts and counts do not double.`,
		Example: `  ingest gen-corpus --posts 200000 --output corpus.jsonl
  ingest gen-corpus --posts 1000 --end 2025-11-20T12:00:00Z | ingest extract
  ingest gen-corpus --demo --output demo.jsonl && ingest file demo.jsonl`,
		Args: cobra.NoArgs,
	}
	d := corpus.DefaultOptions()
	flags := command.Flags(cmd)
	flags.String(&output, "output", "", "", "file to write (default stdout)")
	flags.Int(&posts, "posts", "BENCH_POSTS", d.Posts, "number of posts")
	flags.Int64(&seed, "seed", "BENCH_SEED", int64(d.Seed), "seed of the generator")
	flags.String(&end, "end", "", "", "created_at lies in [end-span, end), RFC 3339 (default: the start of the current hour)")
	flags.Duration(&span, "span", "", d.Span, "how far before --end created_at goes")
	flags.Bool(&demo, "demo", "", false, "write the demo set of make run (steady tags and a burst ending at --end or now)")
	flags.Int(&days, "days", "", corpus.DefaultDemoOptions().Days, "with --demo: days of history before the current hour")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := flags.Err(); err != nil {
			return err
		}
		opt := d
		opt.Posts, opt.Seed, opt.Span = posts, uint64(seed), span
		if posts < 0 || span < time.Second {
			return fmt.Errorf("gen-corpus: --posts must not be negative and --span at least 1s")
		}
		var demoOpt corpus.DemoOptions
		if demo {
			demoOpt = corpus.DemoOptions{Now: time.Now().UTC(), Days: days, Seed: uint64(seed)}
			if days < 1 {
				return fmt.Errorf("gen-corpus: --days must be at least 1")
			}
		}
		if end != "" {
			t, err := time.Parse(time.RFC3339, end)
			if err != nil {
				return fmt.Errorf("gen-corpus: --end: %w", err)
			}
			opt.End, demoOpt.Now = t.UTC(), t.UTC()
		}
		var w io.Writer = cmd.OutOrStdout()
		if output != "" {
			f, err := os.Create(output)
			if err != nil {
				return fmt.Errorf("gen-corpus: %w", err)
			}
			defer f.Close()
			w = f
		}
		generate := func() (corpus.Expected, error) { return corpus.Generate(w, opt) }
		if demo {
			generate = func() (corpus.Expected, error) { return corpus.GenerateDemo(w, demoOpt) }
		}
		exp, err := generate()
		if err != nil {
			return err
		}
		if f, ok := w.(*os.File); ok && output != "" {
			if err := f.Close(); err != nil {
				return fmt.Errorf("gen-corpus: closing %s: %w", output, err)
			}
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "%d posts, %d mentions, %d distinct tags\n", exp.Posts, exp.Mentions, len(exp.Tags))
		return nil
	}
	return cmd
}
