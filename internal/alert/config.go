package alert

import (
	"tagpulse/internal/command"
)

// Config is where the rules file is; an empty File turns alerts off.
type Config struct {
	File string
}

// RegisterFlags adds --alerts-file (AGGREGATE_ALERTS_FILE).
func (c *Config) RegisterFlags(s *command.FlagSet) {
	s.String(&c.File, "alerts-file", "AGGREGATE_ALERTS_FILE", "", "YAML file of alert rules and webhooks (docs/alerts.md); empty sends no alerts")
}

// Load reads the rules, or returns nil when no file is given.
func (c *Config) Load() (*Rules, error) {
	if c.File == "" {
		return nil, nil
	}
	return LoadRules(c.File, nil)
}
