package benchrun

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Report holds the figures of one run: medians over Runs measurements
// unless said otherwise. Rates are per second.
type Report struct {
	Posts, Mentions         int
	CorpusBytes, ValueBytes int64
	Runs                    int

	KcatProduce, KcatConsume  float64 // messages
	KafkaGoWrite, KafkaGoRead float64 // messages
	RawInsert                 float64 // mention rows, plain MergeTree
	SchemaInsert              float64 // mention rows, tagpulse's tables and views

	PeerRows, PeerPosts float64
	PeerDuplicates      float64 // rows inserted more than once

	IngestPosts    float64
	AggregatePosts float64
	// IngestVsKcat and AggregateVsKcat are the medians of the ratios of
	// each run to the kcat run paired with it (see env.tagpulse).
	IngestVsKcat, AggregateVsKcat float64
	AggregateRows                 float64
	AggregateRSS                  float64 // bytes, largest over the runs

	FreshOffered                 float64 // posts
	FreshP50, FreshP99, FreshMax float64 // seconds
	FreshMarkers                 int

	// ClickHouseVersion is the server the figures above were measured on
	// (Config.ClickHouseAddr); Current holds the same inserts and
	// aggregate on the current ClickHouse, nil when not measured.
	ClickHouseVersion string
	Current           *CurrentFigures

	// Checked counts the exactness checks made; Inexact lists the ones
	// that failed.
	Checked int
	Inexact []string
}

// CurrentFigures are the ClickHouse-bound figures measured again on a
// current ClickHouse (Config.CurrentClickHouseAddr), in the same run.
type CurrentFigures struct {
	Version                 string
	RawInsert, SchemaInsert float64 // mention rows
	AggregatePosts          float64
	// AggregateVsKcat is the median ratio of each run to the kcat consume
	// paired with it; AggregateVsOld the median ratio to the aggregate run
	// on Config.ClickHouseAddr of the same round.
	AggregateVsKcat, AggregateVsOld float64
	AggregateRows                   float64
}

// Table renders the report as a Markdown table with ratios to the limits
// and the targets of issue 8.
func (r *Report) Table() string {
	var b strings.Builder
	mbps := func(msgs float64, bytes int64) string {
		return fmt.Sprintf("%.1f MB/s", msgs*float64(bytes)/float64(r.Posts)/1e6)
	}
	ratio := func(a, base float64) string {
		if base == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f×", a/base)
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	fmt.Fprintf(&b, "| measurement | figure | | ratio | target |\n|---|---:|---:|---:|---|\n")
	row := func(name, fig, extra, rat, target string) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, fig, extra, rat, target)
	}
	if r.ClickHouseVersion != "" {
		fmt.Fprintf(&b, "| ClickHouse (rows without a version) | %s | | | |\n", r.ClickHouseVersion)
	}
	row("kcat produce (limit)", rate(r.KcatProduce, "msg"), mbps(r.KcatProduce, r.ValueBytes), "1.00×", "")
	row("kafka-go Writer produce (limit)", rate(r.KafkaGoWrite, "msg"), mbps(r.KafkaGoWrite, r.ValueBytes), ratio(r.KafkaGoWrite, r.KcatProduce)+" of kcat", "")
	row("**`ingest file`**", rate(r.IngestPosts, "posts"), mbps(r.IngestPosts, r.CorpusBytes)+" of JSONL", fmt.Sprintf("%.2f× of kcat (paired)", r.IngestVsKcat), "≥ 0.8× kcat: "+verdict(r.IngestVsKcat >= 0.8))
	row("kcat consume (limit)", rate(r.KcatConsume, "msg"), mbps(r.KcatConsume, r.ValueBytes), "1.00×", "")
	row("kafka-go Reader consume (limit)", rate(r.KafkaGoRead, "msg"), mbps(r.KafkaGoRead, r.ValueBytes), ratio(r.KafkaGoRead, r.KcatConsume)+" of kcat", "")
	row("clickhouse-go batch insert, plain MergeTree (limit)", rate(r.RawInsert, "rows"), rate(r.RawInsert*float64(r.Posts)/float64(r.Mentions), "posts"), "", "")
	row("clickhouse-go batch insert, tagpulse schema with its views (limit)", rate(r.SchemaInsert, "rows"), rate(r.SchemaInsert*float64(r.Posts)/float64(r.Mentions), "posts"), ratio(r.SchemaInsert, r.RawInsert)+" of plain", "")
	if r.PeerRows > 0 {
		row("ClickHouse Kafka engine → MV → MergeTree (peer)", rate(r.PeerPosts, "posts"), rate(r.PeerRows, "rows"), ratio(r.PeerPosts, r.KcatConsume)+" of kcat", fmt.Sprintf("at-least-once: %.0f duplicate rows", r.PeerDuplicates))
	}
	row("**`aggregate run --until-caught-up`**", rate(r.AggregatePosts, "posts"), rate(r.AggregateRows, "rows"), fmt.Sprintf("%.2f× of kcat (paired)", r.AggregateVsKcat), "≥ 0.5× kcat: "+verdict(r.AggregateVsKcat >= 0.5))
	if r.PeerRows > 0 {
		row("aggregate vs the Kafka engine", "", "", ratio(r.AggregatePosts, r.PeerPosts), "> 1×: "+verdict(r.AggregatePosts > r.PeerPosts))
	}
	row("aggregate vs insert into its schema", "", "", ratio(r.AggregateRows, r.SchemaInsert)+" of insert", "")
	if c := r.Current; c != nil {
		on := " on ClickHouse " + c.Version
		row("clickhouse-go batch insert, plain MergeTree"+on+" (limit)", rate(c.RawInsert, "rows"), rate(c.RawInsert*float64(r.Posts)/float64(r.Mentions), "posts"), ratio(c.RawInsert, r.RawInsert)+" of "+r.ClickHouseVersion, "")
		row("clickhouse-go batch insert, tagpulse schema"+on+" (limit)", rate(c.SchemaInsert, "rows"), rate(c.SchemaInsert*float64(r.Posts)/float64(r.Mentions), "posts"), ratio(c.SchemaInsert, r.SchemaInsert)+" of "+r.ClickHouseVersion, "")
		row("**`aggregate run --until-caught-up`**"+on, rate(c.AggregatePosts, "posts"), rate(c.AggregateRows, "rows"), fmt.Sprintf("%.2f× of kcat, %.2f× of %s (paired)", c.AggregateVsKcat, c.AggregateVsOld, r.ClickHouseVersion), "≥ 0.5× kcat: "+verdict(c.AggregateVsKcat >= 0.5))
	}
	row("aggregate peak RSS (VmHWM), whole backlog", fmt.Sprintf("%.0f MB", r.AggregateRSS/1e6), fmt.Sprintf("%d posts", r.Posts), "", "≤ 256 MB: "+verdict(r.AggregateRSS <= 256e6))
	row("freshness p50 (created → in mentions)", fmt.Sprintf("%.2f s", r.FreshP50), fmt.Sprintf("at %s offered", rate(r.FreshOffered, "posts")), "", "")
	row("freshness p99", fmt.Sprintf("%.2f s", r.FreshP99), fmt.Sprintf("max %.2f s, %d markers", r.FreshMax, r.FreshMarkers), "", "≤ 2 s: "+verdict(r.FreshP99 <= 2))
	exact := "yes"
	if len(r.Inexact) > 0 {
		exact = "**NO**: " + strings.Join(r.Inexact, "; ")
	}
	row("counts exact", exact, fmt.Sprintf("%d checks", r.Checked), "", "required")
	return b.String()
}

func rate(v float64, unit string) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f M %s/s", v/1e6, unit)
	case v >= 1e3:
		return fmt.Sprintf("%.1f k %s/s", v/1e3, unit)
	}
	return fmt.Sprintf("%.0f %s/s", v, unit)
}

// Environment describes where and when a run was made.
type Environment struct {
	Commit, Date, Machine, Command string
}

// DescribeEnvironment reads the commit (marked dirty when the worktree has
// changes), the date and the machine: CPUs, CPU model, memory.
func DescribeEnvironment(command string) Environment {
	commit := "unknown"
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			commit += "-dirty"
		}
	}
	model, mem := procField("/proc/cpuinfo", "model name"), procField("/proc/meminfo", "MemTotal")
	return Environment{
		Commit:  commit,
		Date:    time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Machine: fmt.Sprintf("%d CPUs (%s), %s memory, %s", runtime.NumCPU(), model, mem, runtime.Version()),
		Command: command,
	}
}

func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// Markdown renders the report with its environment.
func (r *Report) Markdown(env Environment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Commit `%s`, %s, %s.\n\nCommand: `%s`. Corpus: %d posts, %d mentions, %.1f MB of JSONL, %.1f MB of Kafka values; each figure is the median of %d runs.\n\n",
		env.Commit, env.Date, env.Machine, env.Command, r.Posts, r.Mentions, float64(r.CorpusBytes)/1e6, float64(r.ValueBytes)/1e6, r.Runs)
	b.WriteString(r.Table())
	return b.String()
}

// Markers delimit the generated part of BENCHMARKS.md.
const (
	BeginMarker = "<!-- bench:begin -->"
	EndMarker   = "<!-- bench:end -->"
)

// WriteInto replaces the text between the markers of the file at path
// with section (appending markers and section when the file has none).
func WriteInto(path, section string) error {
	return WriteBetween(path, BeginMarker, EndMarker, section)
}

// WriteBetween replaces the text between the markers begin and end of the
// file at path with section (appending markers and section when the file
// has none): the read benchmark writes its own part of BENCHMARKS.md.
func WriteBetween(path, beginMarker, endMarker, section string) error {
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	s := string(data)
	block := beginMarker + "\n" + section + endMarker
	i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
	if i >= 0 && j > i {
		s = s[:i] + block + s[j+len(endMarker):]
	} else {
		s += "\n" + block + "\n"
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

// Section prints a benchmark's section and, when path is not empty, puts
// it into that file between the markers named name ("<!-- name:begin -->"
// and "<!-- name:end -->"). render gets the environment of the run; its
// command is BENCH_COMMAND (set by scripts/bench), or else program with
// the process's arguments.
func Section(name, program, path string, render func(Environment) string) error {
	command := os.Getenv("BENCH_COMMAND")
	if command == "" {
		command = program + " " + strings.Join(os.Args[1:], " ")
	}
	md := render(DescribeEnvironment(strings.TrimSpace(command)))
	fmt.Println(md)
	if path == "" {
		return nil
	}
	return WriteBetween(path, "<!-- "+name+":begin -->", "<!-- "+name+":end -->", md)
}
