// This file: command-line flags whose defaults can be set by environment
// variables, so every setting of tagpulse has both a flag and a variable
// beside it (KAFKA_BROKERS beside --kafka-brokers, and so on).
//
// Precedence is flag, then environment, then the built-in default. A value
// in the environment that does not parse is reported when the flag set is
// checked with Err, not silently ignored.

package command

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// FlagSet wraps a flag set and remembers environment values that did not parse.
type FlagSet struct {
	fs   *pflag.FlagSet
	errs []error
}

// NewFlagSet returns a FlagSet that registers its flags on fs.
func NewFlagSet(fs *pflag.FlagSet) *FlagSet { return &FlagSet{fs: fs} }

// Err reports the first environment variable that held an invalid value.
func (s *FlagSet) Err() error {
	if len(s.errs) == 0 {
		return nil
	}
	return s.errs[0]
}

func (s *FlagSet) lookup(env string) (string, bool) {
	if env == "" {
		return "", false
	}
	v, ok := os.LookupEnv(env)
	return v, ok && v != ""
}

func withEnv(usage, env string) string {
	if env == "" {
		return usage
	}
	return usage + " (env " + env + ")"
}

// Annotations every flag with an environment variable carries, so that
// documentation can be generated from the flags (ConfigTables):
// the variable's name, and the built-in default, which the flag's own
// DefValue is not when the variable was set at registration.
const (
	AnnotationEnv     = "envflag_env"
	AnnotationDefault = "envflag_default"
	// AnnotationDefaultInWords marks a default given by DescribeDefault.
	AnnotationDefaultInWords = "envflag_default_in_words"
)

// DescribeDefault documents the default of flag name in words, for a
// default that depends on the machine (a home directory), where the value
// itself would document one machine only.
func (s *FlagSet) DescribeDefault(name, text string) {
	_ = s.fs.SetAnnotation(name, AnnotationDefault, []string{text})
	_ = s.fs.SetAnnotation(name, AnnotationDefaultInWords, []string{"true"})
}

func (s *FlagSet) annotate(name, env, def string) {
	if env == "" {
		return
	}
	// The flag was registered just before; SetAnnotation fails only for
	// unknown names.
	_ = s.fs.SetAnnotation(name, AnnotationEnv, []string{env})
	_ = s.fs.SetAnnotation(name, AnnotationDefault, []string{def})
}

// String registers a string flag.
func (s *FlagSet) String(p *string, name, env, def, usage string) {
	builtin := def
	if v, ok := s.lookup(env); ok {
		def = v
	}
	s.fs.StringVar(p, name, def, withEnv(usage, env))
	s.annotate(name, env, builtin)
}

// Strings registers a comma-separated list flag.
func (s *FlagSet) Strings(p *[]string, name, env string, def []string, usage string) {
	builtin := strings.Join(def, ",")
	if v, ok := s.lookup(env); ok {
		def = splitList(v)
	}
	s.fs.StringSliceVar(p, name, def, withEnv(usage, env))
	s.annotate(name, env, builtin)
}

// Int registers an integer flag.
func (s *FlagSet) Int(p *int, name, env string, def int, usage string) {
	s.fs.IntVar(p, name, envDefault(s, env, def, strconv.Atoi, "an integer"), withEnv(usage, env))
	s.annotate(name, env, strconv.Itoa(def))
}

// Int64 registers a 64-bit integer flag.
func (s *FlagSet) Int64(p *int64, name, env string, def int64, usage string) {
	parse := func(v string) (int64, error) { return strconv.ParseInt(v, 10, 64) }
	s.fs.Int64Var(p, name, envDefault(s, env, def, parse, "an integer"), withEnv(usage, env))
	s.annotate(name, env, strconv.FormatInt(def, 10))
}

// Bool registers a boolean flag.
func (s *FlagSet) Bool(p *bool, name, env string, def bool, usage string) {
	s.fs.BoolVar(p, name, envDefault(s, env, def, strconv.ParseBool, "a boolean"), withEnv(usage, env))
	s.annotate(name, env, strconv.FormatBool(def))
}

// Duration registers a duration flag ("1s", "5m").
func (s *FlagSet) Duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	s.fs.DurationVar(p, name, envDefault(s, env, def, time.ParseDuration, "a duration"), withEnv(usage, env))
	s.annotate(name, env, shortDuration(def))
}

// envDefault is the default of a flag: the value of env read by parse, or
// def when env is unset. A value parse rejects is recorded for Err ("is not
// KIND") and def is kept.
func envDefault[T any](s *FlagSet, env string, def T, parse func(string) (T, error), kind string) T {
	v, ok := s.lookup(env)
	if !ok {
		return def
	}
	x, err := parse(v)
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("environment variable %s: %q is not %s", env, v, kind))
		return def
	}
	return x
}

// shortDuration writes d as time.Duration does, without the zero minutes
// and seconds it ends with ("2160h", not "2160h0m0s").
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func splitList(v string) []string {
	var out []string
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// Secret returns the value of the environment variable env, or the trimmed
// content of the file named by env+"_FILE". It never returns the value in
// an error.
func Secret(env string) (string, error) {
	if v := os.Getenv(env); v != "" {
		return v, nil
	}
	path := os.Getenv(env + "_FILE")
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading secret file named by %s_FILE: %w", env, err)
	}
	return strings.TrimSpace(string(b)), nil
}
