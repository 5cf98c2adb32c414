package command

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Setting is one configuration setting of the commands: a flag with its
// environment variable.
type Setting struct {
	Env     string
	Flag    string
	Default string // built in, before any environment variable
	Usage   string // the flag's help without "(env …)"
	// Commands are the command paths that take it, in tree order.
	Commands []string
	// Persistent is true when every command of its root takes it.
	Persistent bool
	// DefaultInWords is true when Default describes the value rather than
	// being it (FlagSet.DescribeDefault).
	DefaultInWords bool
	bytes          bool
}

// envInUsage finds the variable of a flag whose environment is read by its
// command rather than by FlagSet (such as --source and INGEST_SOURCES).
var envInUsage = regexp.MustCompile(`\(env ([A-Z0-9_]+)`)

// envAlone and envWithMore find the variable's name in a flag's help, to
// leave it out of the help shown beside it.
var (
	envAlone    = regexp.MustCompile(`\s*\(env [A-Z0-9_]+\)`)
	envWithMore = regexp.MustCompile(`\(env [A-Z0-9_]+, `)
)

// Settings walks the command trees and returns every flag that has an
// environment variable, sorted by variable. One variable read by several
// commands with different defaults is an error: the documentation could
// give only one.
func Settings(roots ...*cobra.Command) ([]Setting, error) {
	byEnv := map[string]*Setting{}
	var errs []string
	visit := func(c *cobra.Command, persistent bool) func(*pflag.Flag) {
		return func(f *pflag.Flag) {
			env, def := "", f.DefValue
			inWords := len(f.Annotations[AnnotationDefaultInWords]) > 0
			if v := f.Annotations[AnnotationEnv]; len(v) > 0 {
				env, def = v[0], f.Annotations[AnnotationDefault][0]
			} else if m := envInUsage.FindStringSubmatch(f.Usage); m != nil {
				env = m[1]
				if f.Value.Type() == "stringArray" || f.Value.Type() == "stringSlice" {
					def = strings.Trim(def, "[]")
				}
			}
			if env == "" {
				return
			}
			s, seen := byEnv[env]
			if !seen {
				usage := envAlone.ReplaceAllString(f.Usage, "")
				usage = envWithMore.ReplaceAllString(usage, "(in the variable, ")
				s = &Setting{Env: env, Flag: f.Name, Default: def, Usage: usage, Persistent: persistent, DefaultInWords: inWords,
					bytes: strings.Contains(f.Name, "bytes") || strings.Contains(f.Name, "memory")}
				byEnv[env] = s
			}
			switch {
			case s.Flag != f.Name:
				errs = append(errs, fmt.Sprintf("%s is read by --%s and --%s", env, s.Flag, f.Name))
			case s.Default != def:
				errs = append(errs, fmt.Sprintf("%s (--%s) defaults to %q in %s but %q in %s", env, f.Name, s.Default, strings.Join(s.Commands, ", "), def, c.CommandPath()))
			}
			s.Commands = append(s.Commands, c.CommandPath())
		}
	}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.PersistentFlags().VisitAll(visit(c, true))
		if c.Runnable() {
			c.LocalNonPersistentFlags().VisitAll(visit(c, false))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("flags disagree: %s", strings.Join(errs, "; "))
	}
	out := make([]Setting, 0, len(byEnv))
	for _, s := range byEnv {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Env < out[j].Env })
	return out, nil
}

// ConfigTables renders the settings of the command trees as Markdown: one
// table of the settings more than one root takes, then one per root. Every
// value comes from the flags, so the tables cannot disagree with --help.
func ConfigTables(roots ...*cobra.Command) (string, error) {
	settings, err := Settings(roots...)
	if err != nil {
		return "", err
	}
	sections := map[string][]Setting{}
	var shared []Setting
	for _, s := range settings {
		owners := rootsOf(s)
		if len(owners) > 1 {
			shared = append(shared, s)
			continue
		}
		sections[owners[0]] = append(sections[owners[0]], s)
	}
	var b strings.Builder
	writeTable(&b, "Both "+rootNames(roots)+":", shared)
	for _, r := range roots {
		writeTable(&b, "`"+r.Name()+"`:", sections[r.Name()])
	}
	return b.String(), nil
}

func rootNames(roots []*cobra.Command) string {
	var names []string
	for _, r := range roots {
		names = append(names, "`"+r.Name()+"`")
	}
	return strings.Join(names, " and ")
}

// rootsOf returns the root command names a setting's commands belong to.
func rootsOf(s Setting) []string {
	var out []string
	for _, c := range s.Commands {
		root, _, _ := strings.Cut(c, " ")
		if len(out) == 0 || out[len(out)-1] != root {
			out = append(out, root)
		}
	}
	return out
}

func writeTable(b *strings.Builder, title string, settings []Setting) {
	if len(settings) == 0 {
		return
	}
	fmt.Fprintf(b, "%s\n\n| variable | flag | default | commands | what it sets |\n| --- | --- | --- | --- | --- |\n", title)
	for _, s := range settings {
		fmt.Fprintf(b, "| `%s` | `--%s` | %s | %s | %s |\n", s.Env, s.Flag, formatDefault(s), commandList(s), strings.ReplaceAll(s.Usage, "|", `\|`))
	}
	b.WriteString("\n")
}

// formatDefault shows a default as the flag takes it, with a size in MiB
// beside byte counts.
func formatDefault(s Setting) string {
	switch {
	case s.DefaultInWords:
		return s.Default
	case s.Default == "":
		return "(empty)"
	}
	out := "`" + s.Default + "`"
	if n, err := strconv.ParseInt(s.Default, 10, 64); err == nil && s.bytes && n >= 1<<20 && n%(1<<20) == 0 {
		out += fmt.Sprintf(" (%d MiB)", n>>20)
	}
	return out
}

// commandList names the commands that take a setting: "every" for a
// persistent flag, else each root with its subcommands, "ingest run,
// file".
func commandList(s Setting) string {
	if s.Persistent {
		return "every"
	}
	var parts []string
	last := ""
	for _, c := range s.Commands {
		root, sub, _ := strings.Cut(c, " ")
		if root != last {
			parts = append(parts, root+" "+sub)
			last = root
			continue
		}
		parts[len(parts)-1] += ", " + sub
	}
	return strings.Join(parts, "; ")
}
