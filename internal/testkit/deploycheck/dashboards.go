package deploycheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// Datasource plugin types the dashboards use.
const (
	PrometheusType = "prometheus"
	ClickHouseType = "grafana-clickhouse-datasource"
)

// Dashboard is one dashboard file decoded into the Grafana Foundation SDK
// types.
type Dashboard struct {
	Path string
	// The files under deploy/compose/grafana/dashboards are the classic
	// dashboard JSON that Grafana provisions; dashboardv2 is another schema.
	//lint:ignore SA1019 the provisioned files are v1 dashboards
	Model dashboard.Dashboard
}

// Query is one query of a dashboard: a panel target or a template
// variable's query.
type Query struct {
	Dashboard  string // file base name
	Panel      string // panel title, or "variable NAME"
	RefID      string
	Datasource common.DataSourceRef
	// Expr is the PromQL of a Prometheus query as written, with Grafana
	// variables; Expanded is Expr with them replaced so that the PromQL
	// parser accepts it.
	Expr     string
	Expanded string
	// RawSQL is the SQL of a ClickHouse query.
	RawSQL string
}

func (q Query) String() string {
	return fmt.Sprintf("%s: %s (ref %s)", q.Dashboard, q.Panel, q.RefID)
}

var registerPlugins sync.Once

// LoadDashboards decodes every dashboard under root's DashboardsGlob with
// the SDK's strict decoder, which rejects unknown fields and wrong types.
func LoadDashboards(root string) ([]Dashboard, error) {
	registerPlugins.Do(plugins.RegisterDefaultPlugins)
	files, err := Glob(root, DashboardsGlob)
	if err != nil {
		return nil, err
	}
	out := make([]Dashboard, 0, len(files))
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading dashboard: %w", err)
		}
		// The strict decoder reports unknown fields, missing required
		// fields and wrong types, but drops every panel (v0.0.22 returns
		// an empty error list as a non-nil error and discards the panel),
		// so the model comes from the lenient decoder.
		//lint:ignore SA1019 the provisioned files are v1 dashboards (see Dashboard.Model)
		var strict, d dashboard.Dashboard
		if err := strictError(strict.UnmarshalJSONStrict(raw)); err != nil {
			return nil, fmt.Errorf("decoding dashboard %s: %w", file, err)
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("decoding dashboard %s: %w", file, err)
		}
		out = append(out, Dashboard{Path: file, Model: d})
	}
	return out, nil
}

// strictError returns err unless it is an empty cog.BuildErrors: the SDK's
// strict decoder returns its error list as an error even when it is empty.
func strictError(err error) error {
	var list cog.BuildErrors
	if errors.As(err, &list) && len(list) == 0 {
		return nil
	}
	return err
}

// Panels returns every panel of the dashboard, those inside rows included;
// rows themselves are not panels here.
func (d Dashboard) Panels() []dashboard.Panel {
	var panels []dashboard.Panel
	for _, p := range d.Model.Panels {
		switch {
		case p.Panel != nil:
			panels = append(panels, *p.Panel)
		case p.RowPanel != nil:
			panels = append(panels, p.RowPanel.Panels...)
		}
	}
	return panels
}

// Queries returns every panel target and template variable query of the
// dashboard with its effective datasource (the target's, else the
// panel's).
func (d Dashboard) Queries() ([]Query, error) {
	name := filepath.Base(d.Path)
	durations := d.durationVariables()
	var queries []Query
	for _, p := range d.Panels() {
		title := deref(p.Title)
		for _, t := range p.Targets {
			q, err := targetQuery(t)
			if err != nil {
				return nil, fmt.Errorf("%s: panel %q: %w", name, title, err)
			}
			q.Dashboard, q.Panel = name, title
			if q.Datasource.Uid == nil && p.Datasource != nil {
				q.Datasource = *p.Datasource
			}
			queries = append(queries, q)
		}
	}
	for _, v := range d.Model.Templating.List {
		if v.Type != dashboard.VariableTypeQuery || v.Datasource == nil {
			continue
		}
		q := Query{Dashboard: name, Panel: "variable " + v.Name, RefID: v.Name, Datasource: *v.Datasource}
		text := variableQueryText(v.Query)
		switch deref(v.Datasource.Type) {
		case PrometheusType:
			q.Expr = text
		case ClickHouseType:
			q.RawSQL = text
		}
		queries = append(queries, q)
	}
	for i, q := range queries {
		if q.Expr == "" {
			continue
		}
		expanded, err := ExpandVariables(promQLOfVariableQuery(q.Expr), durations)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
		queries[i].Expanded = expanded
	}
	return queries, nil
}

// PromQueries returns the dashboard's Prometheus queries.
func (d Dashboard) PromQueries() ([]Query, error) {
	all, err := d.Queries()
	if err != nil {
		return nil, err
	}
	var prom []Query
	for _, q := range all {
		if q.Expr != "" {
			prom = append(prom, q)
		}
	}
	return prom, nil
}

func targetQuery(t variants.Dataquery) (Query, error) {
	switch t := t.(type) {
	case *prometheus.Dataquery:
		q := Query{RefID: deref(t.RefId), Expr: t.Expr}
		if t.Datasource != nil {
			q.Datasource = *t.Datasource
		}
		if q.Expr == "" {
			return q, fmt.Errorf("prometheus target %s has no expr", q.RefID)
		}
		return q, nil
	case variants.UnknownDataquery:
		// Queries of plugins the SDK has no types for, such as ClickHouse.
		raw, err := json.Marshal(t)
		if err != nil {
			return Query{}, err
		}
		var generic struct {
			RefID      string                `json:"refId"`
			Datasource *common.DataSourceRef `json:"datasource"`
			RawSQL     string                `json:"rawSql"`
		}
		if err := json.Unmarshal(raw, &generic); err != nil {
			return Query{}, fmt.Errorf("decoding target: %w", err)
		}
		q := Query{RefID: generic.RefID, RawSQL: generic.RawSQL}
		if generic.Datasource != nil {
			q.Datasource = *generic.Datasource
		}
		return q, nil
	default:
		return Query{}, fmt.Errorf("target of unsupported type %T", t)
	}
}

// variableQueryText returns the query of a template variable, written
// either as a string or as an object with a "query" field.
func variableQueryText(q *dashboard.StringOrMap) string {
	switch {
	case q == nil:
		return ""
	case q.String != nil:
		return *q.String
	case q.Map != nil:
		for _, key := range []string{"query", "rawSql"} {
			if s, ok := q.Map[key].(string); ok {
				return s
			}
		}
	}
	return ""
}

// promQLOfVariableQuery turns the Prometheus datasource's variable query
// functions into PromQL: label_values(selector, label) and
// query_result(expr) query selector and expr.
var variableFunc = regexp.MustCompile(`^\s*(label_values|query_result)\((.*)\)\s*$`)

func promQLOfVariableQuery(q string) string {
	m := variableFunc.FindStringSubmatch(q)
	if m == nil {
		return q
	}
	if m[1] == "query_result" {
		return m[2]
	}
	// label_values(selector, label): the selector ends at the last comma
	// outside braces and quotes; label_values(label) has no selector.
	arg := m[2]
	depth, quoted := 0, false
	cut := -1
	for i, r := range arg {
		switch {
		case r == '"':
			quoted = !quoted
		case quoted:
		case r == '{' || r == '(':
			depth++
		case r == '}' || r == ')':
			depth--
		case r == ',' && depth == 0:
			cut = i
		}
	}
	if cut < 0 {
		return "up" // label_values(label) lists the label over all series.
	}
	return strings.TrimSpace(arg[:cut])
}

// durationVariables returns the names of the dashboard's template
// variables whose values are durations (interval variables).
func (d Dashboard) durationVariables() map[string]bool {
	names := make(map[string]bool)
	for _, v := range d.Model.Templating.List {
		if v.Type == dashboard.VariableTypeInterval {
			names[v.Name] = true
		}
	}
	return names
}

// Grafana's built-in variables; the _ms and _s forms are numbers.
var builtinValues = map[string]string{
	"__rate_interval":    "1m",
	"__interval":         "1m",
	"__range":            "1h",
	"__interval_ms":      "60000",
	"__rate_interval_ms": "60000",
	"__range_ms":         "3600000",
	"__range_s":          "3600",
}

// A Grafana variable reference: $name, ${name}, ${name:format} or [[name]].
var variableRef = regexp.MustCompile(`\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]`)

// ExpandVariables replaces the Grafana variables of a PromQL query with
// values the PromQL parser accepts: built-in interval variables and the
// dashboard's duration variables by a duration, every other variable
// (sources, instances, …, which appear inside label matchers) by a plain
// word. An unknown built-in ($__…) is an error so that a new one is not
// silently mistranslated.
func ExpandVariables(q string, durations map[string]bool) (string, error) {
	var unknown string
	out := variableRef.ReplaceAllStringFunc(q, func(ref string) string {
		m := variableRef.FindStringSubmatch(ref)
		name := m[1] + m[2] + m[3]
		if v, ok := builtinValues[name]; ok {
			return v
		}
		if strings.HasPrefix(name, "__") {
			unknown = name
			return ref
		}
		if durations[name] {
			return "5m"
		}
		return "value"
	})
	if unknown != "" {
		return "", fmt.Errorf("unknown Grafana variable $%s in %q", unknown, q)
	}
	return out, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
