// Package envflag registers command-line flags whose defaults can be set by
// environment variables, so every setting of tagpulse has both a flag and a
// variable beside it (KAFKA_BROKERS beside --kafka-brokers, and so on).
//
// Precedence is flag, then environment, then the built-in default. A value
// in the environment that does not parse is reported when the flag set is
// checked with Err, not silently ignored.
package envflag

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Set wraps a flag set and remembers environment values that did not parse.
type Set struct {
	fs   *pflag.FlagSet
	errs []error
}

// New returns a Set that registers its flags on fs.
func New(fs *pflag.FlagSet) *Set { return &Set{fs: fs} }

// Err reports the first environment variable that held an invalid value.
func (s *Set) Err() error {
	if len(s.errs) == 0 {
		return nil
	}
	return s.errs[0]
}

func (s *Set) lookup(env string) (string, bool) {
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

// String registers a string flag.
func (s *Set) String(p *string, name, env, def, usage string) {
	if v, ok := s.lookup(env); ok {
		def = v
	}
	s.fs.StringVar(p, name, def, withEnv(usage, env))
}

// Strings registers a comma-separated list flag.
func (s *Set) Strings(p *[]string, name, env string, def []string, usage string) {
	if v, ok := s.lookup(env); ok {
		def = splitList(v)
	}
	s.fs.StringSliceVar(p, name, def, withEnv(usage, env))
}

// Int registers an integer flag.
func (s *Set) Int(p *int, name, env string, def int, usage string) {
	if v, ok := s.lookup(env); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("environment variable %s: %q is not an integer", env, v))
		} else {
			def = n
		}
	}
	s.fs.IntVar(p, name, def, withEnv(usage, env))
}

// Int64 registers a 64-bit integer flag.
func (s *Set) Int64(p *int64, name, env string, def int64, usage string) {
	if v, ok := s.lookup(env); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("environment variable %s: %q is not an integer", env, v))
		} else {
			def = n
		}
	}
	s.fs.Int64Var(p, name, def, withEnv(usage, env))
}

// Bool registers a boolean flag.
func (s *Set) Bool(p *bool, name, env string, def bool, usage string) {
	if v, ok := s.lookup(env); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("environment variable %s: %q is not a boolean", env, v))
		} else {
			def = b
		}
	}
	s.fs.BoolVar(p, name, def, withEnv(usage, env))
}

// Duration registers a duration flag ("1s", "5m").
func (s *Set) Duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	if v, ok := s.lookup(env); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("environment variable %s: %q is not a duration", env, v))
		} else {
			def = d
		}
	}
	s.fs.DurationVar(p, name, def, withEnv(usage, env))
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
