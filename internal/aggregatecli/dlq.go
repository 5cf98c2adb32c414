package aggregatecli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"tagpulse/internal/aggregator"
	"tagpulse/internal/command"
	"tagpulse/internal/kafkaclient"
)

func newDLQCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Work with the dead-letter topic <topic>.dlq",
		Long: `The consumer writes each message it cannot decode to <topic>.dlq, with
headers saying where it came from and why. dlq list shows them; dlq replay
puts them back on the posts topic once their cause is fixed. For a
producer's bad data, the path is: dump (dlq list --json), fix, ingest file
(docs/operations.md).`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newDLQListCmd(), newDLQReplayCmd())
	return cmd
}

// kafkaCreateFlags are the Kafka flags that apply only where topics are
// created (run, ingest): hidden from the commands that only read them.
var kafkaCreateFlags = []string{"partitions", "kafka-retention", "kafka-dlq-retention"}

// hideFlags hides flags that a command registers with a shared group but
// does not use, so its --help lists only what it acts on. A name that is
// not registered is a programming error.
func hideFlags(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		if err := cmd.Flags().MarkHidden(n); err != nil {
			panic(fmt.Sprintf("hiding --%s of %s: %v", n, cmd.Name(), err))
		}
	}
}

func newDLQReplayCmd() *cobra.Command {
	var (
		kcfg  kafkaclient.Config
		logs  command.Logging
		group string
		opt   aggregator.DLQReplayOptions
	)
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Re-feed dead-letter messages to the posts topic once their cause is fixed",
		Long: `dlq replay reads <topic>.dlq up to its end at start and writes each message
that now decodes back to the posts topic with its original key and value.
Progress is recorded as the consumer group --dlq-group, so a second run
re-feeds only what arrived since (--from-beginning reads everything again).
Re-feeding a post twice changes no count.

A message that still does not decode is never passed over in silence: it is
logged with its reason, progress stops before it on its partition (the next
run reads it again), and the command exits 1 naming how many remain and
why. Look at them with 'aggregate dlq list'; re-publish fixed copies with
'ingest file' (docs/operations.md), then --skip-poison records progress
past them. --force re-feeds them as they are (the consumer sends them back
here).`,
		Args: cobra.NoArgs,
	}
	flags := command.Flags(cmd)
	kcfg.RegisterFlags(flags)
	logs.RegisterFlags(flags)
	hideFlags(cmd, kafkaCreateFlags...)
	flags.String(&group, "dlq-group", "AGGREGATE_DLQ_GROUP", aggregator.DefaultGroup+"-dlq-replay", "consumer group that records how far the dead-letter topic was re-fed")
	flags.Bool(&opt.FromBeginning, "from-beginning", "", false, "read the whole dead-letter topic, ignoring recorded progress")
	flags.Bool(&opt.Force, "force", "", false, "re-feed messages that still do not decode")
	flags.Bool(&opt.SkipPoison, "skip-poison", "", false, "record progress past messages that still do not decode (after listing and re-publishing them), and exit 0")
	flags.Bool(&opt.DryRun, "dry-run", "", false, "count what would be re-fed, write nothing")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := logs.Start(cmd, flags, &kcfg)
		if err != nil {
			return err
		}
		opt.Group = group
		stats, err := aggregator.ReplayDLQ(cmd.Context(), &kcfg, opt, log)
		log.Info("dlq replay done", "read", stats.Read, "refed", stats.Refed, "still_poison", stats.StillPoison,
			"reasons", stats.ReasonSummary(), "dry_run", opt.DryRun)
		if err != nil {
			return fmt.Errorf("dlq replay: %w", err)
		}
		return nil
	}
	return cmd
}

func newDLQListCmd() *cobra.Command {
	var (
		kcfg   kafkaclient.Config
		logs   command.Logging
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Print the dead letters with their reason and origin, as a table or JSON lines",
		Long: `dlq list reads the whole of <topic>.dlq (what its retention still holds) and
prints one line per dead letter: where it is, when it arrived, the reason
and error the consumer gave (headers tagpulse-reason, tagpulse-error), the
original topic, partition and offset, and the start of its value. It reads
outside any consumer group and records nothing.

With --json it prints one JSON object per line with every field and the
whole value ("value", or "value_base64" when it is not UTF-8), plus "post":
the post fields of a value that is a JSON object (id, text, created_at,
source, author, url, lang), ready to fix and publish again:

  aggregate dlq list --json | jq -c 'select(.post) | .post' > dead.jsonl
  # fix dead.jsonl, then
  ingest file dead.jsonl`,
		Args: cobra.NoArgs,
	}
	flags := command.Flags(cmd)
	kcfg.RegisterFlags(flags)
	logs.RegisterFlags(flags)
	hideFlags(cmd, kafkaCreateFlags...)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per line, with the whole value")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := logs.Start(cmd, flags, &kcfg)
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		tw := newTable(w)
		if !asJSON {
			fmt.Fprintln(tw, "PARTITION\tOFFSET\tTIME\tREASON\tORIGIN\tERROR\tVALUE")
		}
		var n int
		err = aggregator.ListDLQ(cmd.Context(), &kcfg, func(d aggregator.DeadLetter) error {
			n++
			if asJSON {
				return enc.Encode(d)
			}
			writeDLQRow(tw, d)
			return nil
		})
		if !asJSON {
			if ferr := tw.Flush(); ferr != nil && err == nil {
				err = ferr
			}
		}
		if err != nil {
			return fmt.Errorf("dlq list: %w", err)
		}
		log.Info("dlq list done", "topic", kcfg.DLQTopic(), "dead_letters", n)
		return nil
	}
	return cmd
}

// Widths of the table's error and value columns; --json prints them whole.
const (
	dlqErrorWidth = 60
	dlqValueWidth = 40
)

// writeDLQRow prints one dead letter as a table row. The error and value
// are quoted (a value may hold tabs, newlines or bytes that are not
// UTF-8) and cut to their column's width.
func writeDLQRow(w io.Writer, d aggregator.DeadLetter) {
	value := d.Value
	if d.ValueBase64 != nil {
		value = string(d.ValueBase64)
	}
	origin := d.OriginalTopic + "/" + strconv.Itoa(d.OriginalPartition) + "/" + strconv.FormatInt(d.OriginalOffset, 10)
	if d.OriginalTopic == "" {
		origin = "-"
	}
	reason := d.Reason
	if reason == "" {
		reason = "-"
	}
	fmt.Fprintf(w, "%d\t%d\t%s\t%s\t%s\t%s\t%s\n", d.Partition, d.Offset, d.Time.Format("2006-01-02T15:04:05Z"),
		reason, origin, cut(strconv.Quote(d.Error), dlqErrorWidth), cut(strconv.Quote(value), dlqValueWidth))
}

// cut shortens s to at most n runes, marking the cut with "…".
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
