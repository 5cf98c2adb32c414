// Package cliflags holds the flags every tagpulse command shares (logging)
// and the glue between cobra and envflag, so each subcommand declares only
// its own settings.
package cliflags

import (
	"log/slog"

	"github.com/spf13/cobra"

	"tagpulse/internal/envflag"
	"tagpulse/internal/logging"
)

// Logging holds --log-level and --log-format.
type Logging struct {
	Level  string
	Format string
}

// RegisterFlags adds the logging flags.
func (l *Logging) RegisterFlags(s *envflag.Set) {
	s.String(&l.Level, "log-level", "LOG_LEVEL", "info", "log level: debug, info, warn or error")
	s.String(&l.Format, "log-format", "LOG_FORMAT", "text", "log format: text or json")
}

// Logger builds the logger; it writes to the command's stderr.
func (l *Logging) Logger(cmd *cobra.Command) (*slog.Logger, error) {
	return logging.New(cmd.ErrOrStderr(), l.Level, l.Format)
}

// Flags returns an envflag.Set over the command's flags.
func Flags(cmd *cobra.Command) *envflag.Set { return envflag.New(cmd.Flags()) }

// Validator is a component configuration that can check itself.
type Validator interface{ Validate() error }

// Start is the first step of every subcommand: it reports environment
// variables that did not parse, builds the logger, and validates each
// configuration in turn.
func (l *Logging) Start(cmd *cobra.Command, s *envflag.Set, configs ...Validator) (*slog.Logger, error) {
	if err := s.Err(); err != nil {
		return nil, err
	}
	log, err := l.Logger(cmd)
	if err != nil {
		return nil, err
	}
	for _, c := range configs {
		if err := c.Validate(); err != nil {
			return nil, err
		}
	}
	return log, nil
}
