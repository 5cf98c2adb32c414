package aggregatecli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"tagpulse/internal/chstore"
	"tagpulse/internal/command"
	"tagpulse/internal/rollup"
	"tagpulse/internal/topic"
	"tagpulse/internal/trend"
)

func newTopicsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "Define topics: named sets of tags counted as one",
		Long: `topics keeps the topics: a topic is a named set of tags (nato = nato, otan,
navo), and its count is the distinct posts carrying any of them, so a post
tagged #NATO and #OTAN counts once. top and trending count topics with
--topics, series with --topic NAME; a tag's page names its topics.

The definitions live in ClickHouse, so every replica and the HTTP API see
an edit at once. An edit is retroactive: the topic counts all history
within retention as it is defined now. Reads are exact at once (they read
mentions where the topic rollup is not redone yet); the rollup worker of
aggregate run then recomputes every stored day (docs/trends.md, "Topics",
says what that costs).

Topic names are 1 to 64 of a-z, 0-9, '-' and '_'; tags are stored by
their canonical key (OTAN, #otan and Ｏｔａｎ are otan).

topics suggest proposes pairs of tags to merge, from the posts and
accounts they share beyond chance, with the command that accepts each;
pairs already in one topic are left out (docs/trends.md, "Topic
suggestions").`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newTopicsEditCmd(true), newTopicsEditCmd(false), newTopicsListCmd(), newTopicsShowCmd(), newTopicsLoadCmd(), newTopicsSuggestCmd())
	return cmd
}

// topicsCmd holds what the topics subcommands share: where ClickHouse is,
// logging, and who edits.
type topicsCmd struct {
	store chstore.Config
	logs  command.Logging
	by    string
	flags *command.FlagSet
}

func (c *topicsCmd) register(cmd *cobra.Command, edits bool) {
	c.flags = command.Flags(cmd)
	c.store.RegisterFlags(c.flags)
	c.logs.RegisterFlags(c.flags)
	if edits {
		cmd.Flags().StringVar(&c.by, "by", os.Getenv("USER"), "who edits (kept with each tag; default: $USER)")
	}
}

// open connects and returns the topic store; the caller closes it with the
// returned function.
func (c *topicsCmd) open(cmd *cobra.Command) (*topic.Store, func(), error) {
	if _, err := c.logs.Start(cmd, c.flags, &c.store); err != nil {
		return nil, nil, err
	}
	conn, err := chstore.Open(cmd.Context(), c.store)
	if err != nil {
		return nil, nil, trend.MissingSchema(err)
	}
	return topic.NewStore(conn, rollup.MarkTopics), func() { conn.Close() }, nil
}

func newTopicsEditCmd(add bool) *cobra.Command {
	var (
		c   topicsCmd
		all bool
	)
	cmd := &cobra.Command{
		Use:     "add TOPIC TAG...",
		Short:   "Add tags to a topic, creating it",
		Example: `  aggregate topics add nato nato otan navo`,
		Args:    cobra.MinimumNArgs(2),
	}
	if !add {
		cmd.Use, cmd.Short = "remove TOPIC [TAG...]", "Remove tags from a topic, or the whole topic with --all"
		cmd.Example = "  aggregate topics remove nato navo\n  aggregate topics remove nato --all"
		cmd.Args = cobra.MinimumNArgs(1)
		cmd.Flags().BoolVar(&all, "all", false, "remove every tag of the topic: the topic no longer exists")
	}
	c.register(cmd, true)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		name, tags := args[0], args[1:]
		if !add && all == (len(tags) > 0) {
			return fmt.Errorf("topics remove: give tags to remove, or --all, not both")
		}
		s, closeStore, err := c.open(cmd)
		if err != nil {
			return err
		}
		defer closeStore()
		var changed []string
		switch {
		case add:
			changed, err = s.Add(cmd.Context(), name, c.by, tags...)
		case all:
			changed, err = s.Delete(cmd.Context(), name, c.by)
		default:
			changed, err = s.Remove(cmd.Context(), name, c.by, tags...)
		}
		if err != nil {
			return fmt.Errorf("topics %s %s: %w", cmd.Name(), name, err)
		}
		verb := map[bool]string{true: "added to", false: "removed from"}[add]
		if len(changed) == 0 {
			fmt.Fprintf(cmd.OutOrStdout(), "nothing %s %s: the topic is already so\n", verb, name)
			return nil
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s %s: #%s; the counts of all stored history follow (docs/trends.md, Topics)\n",
			verb, name, strings.Join(changed, " #"))
		return nil
	}
	return cmd
}

func newTopicsListCmd() *cobra.Command {
	return newTopicsPrintCmd(&cobra.Command{Use: "list", Short: "Print every topic and its tags", Args: cobra.NoArgs},
		func(ctx context.Context, s *topic.Store, _ []string) ([]topic.Topic, error) { return s.List(ctx) },
		func(w *tabwriter.Writer, list []topic.Topic) {
			fmt.Fprintln(w, "TOPIC\tTAGS")
			for _, t := range list {
				fmt.Fprintf(w, "%s\t#%s\n", t.Name, strings.Join(t.Tags, " #"))
			}
		})
}

func newTopicsShowCmd() *cobra.Command {
	return newTopicsPrintCmd(&cobra.Command{Use: "show TOPIC", Short: "Print a topic's tags, who added each and when", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, s *topic.Store, args []string) (topic.Topic, error) {
			return s.Show(ctx, args[0])
		},
		func(w *tabwriter.Writer, t topic.Topic) {
			fmt.Fprintln(w, "TAG\tADDED (UTC)\tBY")
			for _, m := range t.Members {
				fmt.Fprintf(w, "#%s\t%s\t%s\n", m.Tag, formatMinute(m.AddedAt), m.AddedBy)
			}
		})
}

// newTopicsPrintCmd completes cmd as a command that reads topics with read
// and prints them as a table with table, as JSON with --json, or as CSV
// with --csv.
func newTopicsPrintCmd[T any](cmd *cobra.Command, read func(context.Context, *topic.Store, []string) (T, error), table func(*tabwriter.Writer, T)) *cobra.Command {
	var (
		c             topicsCmd
		asJSON, asCSV bool
	)
	c.register(cmd, false)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts instead of a table")
	cmd.Flags().BoolVar(&asCSV, "csv", false, "print CSV with a header row instead of a table, a row per tag (docs/trends.md, Export)")
	cmd.MarkFlagsMutuallyExclusive("json", "csv")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		s, closeStore, err := c.open(cmd)
		if err != nil {
			return err
		}
		defer closeStore()
		got, err := read(cmd.Context(), s, args)
		if err != nil {
			return fmt.Errorf("topics %s: %w", cmd.Name(), err)
		}
		switch {
		case asJSON:
			return writeJSON(cmd.OutOrStdout(), got)
		case asCSV:
			return trend.WriteCSV(cmd.OutOrStdout(), got)
		}
		tw := newTable(cmd.OutOrStdout())
		table(tw, got)
		return tw.Flush()
	}
	return cmd
}

func newTopicsLoadCmd() *cobra.Command {
	var c topicsCmd
	cmd := &cobra.Command{
		Use:   "load FILE",
		Short: "Make the stored topics equal a YAML file's",
		Long: `load reads a YAML file of topics and makes the stored topics equal it: it
adds the tags the file names, and removes the tags and the topics it does
not. Loading the same file again changes nothing and costs no recount, so
the file can live in version control and be loaded on every deploy.

  topics:
    nato: [nato, otan, navo]
    eu:
      - eu
      - ue`,
		Example: `  aggregate topics load deploy/topics.yml`,
		Args:    cobra.ExactArgs(1),
	}
	c.register(cmd, true)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		defs, err := topic.ParseFile(args[0])
		if err != nil {
			return fmt.Errorf("topics load: %w", err)
		}
		s, closeStore, err := c.open(cmd)
		if err != nil {
			return err
		}
		defer closeStore()
		changes, err := s.Load(cmd.Context(), defs, c.by)
		if err != nil {
			return fmt.Errorf("topics load %s: %w", args[0], err)
		}
		for _, ch := range changes {
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s: #%s\n", map[bool]string{true: "added to", false: "removed from"}[ch.Added], ch.Topic, ch.Tag)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%d topics, %d changes\n", len(defs), len(changes))
		return nil
	}
	return cmd
}
