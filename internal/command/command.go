// This file: the flags every tagpulse command shares (logging) and the
// glue between cobra and FlagSet, so each subcommand declares only its own
// settings.

package command

import (
	"log/slog"

	"github.com/spf13/cobra"
)

// Logging holds --log-level and --log-format.
type Logging struct {
	Level  string
	Format string
}

// RegisterFlags adds the logging flags.
func (l *Logging) RegisterFlags(s *FlagSet) {
	s.String(&l.Level, "log-level", "LOG_LEVEL", "info", "log level: debug, info, warn or error")
	s.String(&l.Format, "log-format", "LOG_FORMAT", "text", "log format: text or json")
}

// Logger builds the logger; it writes to the command's stderr.
func (l *Logging) Logger(cmd *cobra.Command) (*slog.Logger, error) {
	return NewLogger(cmd.ErrOrStderr(), l.Level, l.Format)
}

// Flags returns an FlagSet over the command's flags.
func Flags(cmd *cobra.Command) *FlagSet { return NewFlagSet(cmd.Flags()) }

// Validator is a component configuration that can check itself.
type Validator interface{ Validate() error }

// Start is the first step of every subcommand: it reports environment
// variables that did not parse, builds the logger, and validates each
// configuration in turn.
func (l *Logging) Start(cmd *cobra.Command, s *FlagSet, configs ...Validator) (*slog.Logger, error) {
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
