package deploycheck

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// Rule is one alerting or recording rule of a rule file.
type Rule struct {
	File        string // base name of the rule file
	Group       string
	Alert       string // set for alerting rules
	Record      string // set for recording rules
	Expr        string
	Labels      map[string]string
	Annotations map[string]string
}

// Name is the alert name or the recorded series name.
func (r Rule) Name() string {
	if r.Alert != "" {
		return r.Alert
	}
	return r.Record
}

// LoadRules parses and validates every rule file under root's RulesGlob
// with Prometheus' own rule-file parser.
func LoadRules(root string) ([]Rule, error) {
	files, err := Glob(root, RulesGlob)
	if err != nil {
		return nil, err
	}
	var rules []Rule
	for _, file := range files {
		groups, errs := rulefmt.ParseFile(file, false, model.UTF8Validation, newParser(), slog.New(slog.DiscardHandler))
		if len(errs) > 0 {
			return nil, fmt.Errorf("parsing rule file %s: %w", file, errors.Join(errs...))
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				rules = append(rules, Rule{
					File:        filepath.Base(file),
					Group:       g.Name,
					Alert:       r.Alert,
					Record:      r.Record,
					Expr:        r.Expr,
					Labels:      r.Labels,
					Annotations: r.Annotations,
				})
			}
		}
	}
	return rules, nil
}

func newParser() parser.Parser { return parser.NewParser(parser.Options{}) }
