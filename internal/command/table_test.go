package command

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// tree builds a root named name with one runnable subcommand per entry,
// each registering its flags with reg.
func tree(name string, subs map[string]func(*FlagSet)) *cobra.Command {
	root := &cobra.Command{Use: name}
	for sub, reg := range subs {
		c := &cobra.Command{Use: sub, RunE: func(*cobra.Command, []string) error { return nil }}
		reg(Flags(c))
		root.AddCommand(c)
	}
	return root
}

func TestConfigTables(t *testing.T) {
	t.Setenv("T_BROKERS", "from-the-environment:1")
	var s string
	var n int64
	brokers := func(f *FlagSet) { f.String(&s, "brokers", "T_BROKERS", "b:9092", "brokers | list") }
	got, err := ConfigTables(
		tree("ing", map[string]func(*FlagSet){"run": brokers, "file": func(f *FlagSet) {
			brokers(f)
			f.Int64(&n, "batch-bytes", "T_BYTES", 2<<20, "batch size")
		}}),
		tree("agg", map[string]func(*FlagSet){"run": func(f *FlagSet) {
			brokers(f)
			f.String(&s, "dir", "T_DIR", "/home/me", "state")
			f.DescribeDefault("dir", "the home's state folder")
			f.String(&s, "until", "", "", "no variable: not a setting")
		}}),
	)
	if err != nil {
		t.Fatal(err)
	}
	want := "Both `ing` and `agg`:\n\n" +
		"| variable | flag | default | commands | what it sets |\n| --- | --- | --- | --- | --- |\n" +
		"| `T_BROKERS` | `--brokers` | `b:9092` | ing file, run; agg run | brokers \\| list |\n\n" +
		"`ing`:\n\n" +
		"| variable | flag | default | commands | what it sets |\n| --- | --- | --- | --- | --- |\n" +
		"| `T_BYTES` | `--batch-bytes` | `2097152` (2 MiB) | ing file | batch size |\n\n" +
		"`agg`:\n\n" +
		"| variable | flag | default | commands | what it sets |\n| --- | --- | --- | --- | --- |\n" +
		"| `T_DIR` | `--dir` | the home's state folder | agg run | state |\n\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSettingsReportDisagreement(t *testing.T) {
	var s string
	_, err := Settings(tree("x", map[string]func(*FlagSet){
		"a": func(f *FlagSet) { f.String(&s, "topic", "T_TOPIC", "posts", "topic") },
		"b": func(f *FlagSet) { f.String(&s, "topic", "T_TOPIC", "other", "topic") },
		"c": func(f *FlagSet) { f.String(&s, "kafka-topic", "T_TOPIC", "posts", "topic") },
	}))
	if err == nil || !strings.Contains(err.Error(), `T_TOPIC (--topic) defaults to "posts" in x a but "other" in x b`) ||
		!strings.Contains(err.Error(), "T_TOPIC is read by --topic and --kafka-topic") {
		t.Fatalf("error %v, want both disagreements named", err)
	}
}
