package deploycheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// provisionedDatasources reads the Grafana datasource provisioning files
// and returns the type of each datasource uid.
func provisionedDatasources(t *testing.T, root string) map[string]string {
	t.Helper()
	files, err := Glob(root, DatasourcesGlob)
	if err != nil {
		t.Fatal(err)
	}
	types := make(map[string]string)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var file struct {
			APIVersion  int `yaml:"apiVersion"`
			Datasources []struct {
				Name     string         `yaml:"name"`
				UID      string         `yaml:"uid"`
				Type     string         `yaml:"type"`
				URL      string         `yaml:"url"`
				JSONData map[string]any `yaml:"jsonData"`
			} `yaml:"datasources"`
		}
		if err := yaml.Unmarshal(raw, &file); err != nil {
			t.Fatalf("parsing %s: %v", f, err)
		}
		if file.APIVersion != 1 {
			t.Errorf("%s: apiVersion %d, want 1", f, file.APIVersion)
		}
		for _, ds := range file.Datasources {
			if ds.UID == "" || ds.Name == "" {
				t.Errorf("%s: datasource %+v needs a name and a uid", f, ds)
			}
			if _, dup := types[ds.UID]; dup {
				t.Errorf("%s: datasource uid %s provisioned twice", f, ds.UID)
			}
			types[ds.UID] = ds.Type
			switch ds.Type {
			case PrometheusType:
				if ds.URL != "http://prometheus:9090" {
					t.Errorf("datasource %s: url %q, want the compose prometheus service", ds.UID, ds.URL)
				}
			case ClickHouseType:
				if ds.JSONData["host"] != "clickhouse" || ds.JSONData["protocol"] != "native" {
					t.Errorf("datasource %s: jsonData %v, want host clickhouse over the native protocol", ds.UID, ds.JSONData)
				}
			}
		}
	}
	for _, typ := range []string{PrometheusType, ClickHouseType} {
		found := false
		for _, got := range types {
			found = found || got == typ
		}
		if !found {
			t.Errorf("no %s datasource provisioned", typ)
		}
	}
	return types
}

func TestDashboards(t *testing.T) {
	root := repoRoot(t)
	datasources := provisionedDatasources(t, root)
	dashboards, err := LoadDashboards(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(dashboards) != 3 {
		t.Errorf("%d dashboards, want pipeline-health, hashtag-trends and cluster-health", len(dashboards))
	}
	uids := make(map[string]string)
	for _, d := range dashboards {
		name := filepath.Base(d.Path)
		t.Run(name, func(t *testing.T) {
			uid := deref(d.Model.Uid)
			if uid == "" || deref(d.Model.Title) == "" {
				t.Errorf("dashboard needs a uid and a title")
			}
			if other, dup := uids[uid]; dup {
				t.Errorf("uid %s also used by %s", uid, other)
			}
			uids[uid] = name

			ids := make(map[uint32]string)
			for _, p := range d.Model.Panels {
				if p.RowPanel != nil {
					ids[p.RowPanel.Id] = "row " + deref(p.RowPanel.Title)
				}
			}
			panels := d.Panels()
			if len(panels) == 0 {
				t.Fatal("no panels")
			}
			for _, p := range panels {
				title := deref(p.Title)
				if strings.TrimSpace(title) == "" {
					t.Errorf("panel %d of type %s has no title", deref(p.Id), p.Type)
				}
				if p.Id == nil {
					t.Errorf("panel %q has no id", title)
				} else if other, dup := ids[*p.Id]; dup {
					t.Errorf("panel %q: id %d also used by %q", title, *p.Id, other)
				} else {
					ids[*p.Id] = title
				}
				if p.Datasource != nil {
					uid := deref(p.Datasource.Uid)
					if typ, ok := datasources[uid]; !ok || typ != deref(p.Datasource.Type) {
						t.Errorf("panel %q: datasource %s of type %s is not provisioned", title, uid, deref(p.Datasource.Type))
					}
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no query", title)
				}
				if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
					t.Errorf("panel %q has no size", title)
				}
			}

			queries, err := d.Queries()
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range queries {
				uid, typ := deref(q.Datasource.Uid), deref(q.Datasource.Type)
				provisioned, ok := datasources[uid]
				switch {
				case !ok:
					t.Errorf("%s: datasource uid %q is not provisioned", q, uid)
				case provisioned != typ:
					t.Errorf("%s: datasource %s has type %q, provisioned as %q", q, uid, typ, provisioned)
				}
				switch typ {
				case PrometheusType:
					if _, err := newParser().ParseExpr(q.Expanded); err != nil {
						t.Errorf("%s: PromQL %q (expanded %q): %v", q, q.Expr, q.Expanded, err)
					}
				case ClickHouseType:
					if strings.TrimSpace(q.RawSQL) == "" {
						t.Errorf("%s: ClickHouse query without rawSql", q)
					}
				}
			}
		})
	}
}

func TestExpandVariables(t *testing.T) {
	durations := map[string]bool{"window": true}
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: `rate(x[$__rate_interval])`, want: `rate(x[1m])`},
		{in: `rate(x[${__interval}])`, want: `rate(x[1m])`},
		{in: `increase(x[$__range])`, want: `increase(x[1h])`},
		{in: `x{source=~"$source"}`, want: `x{source=~"value"}`},
		{in: `x{source=~"${source:regex}"}`, want: `x{source=~"value"}`},
		{in: `x{source=~"[[source]]"}`, want: `x{source=~"value"}`},
		{in: `increase(x[$window])`, want: `increase(x[5m])`},
		{in: `x[$__unknown]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ExpandVariables(tt.in, durations)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPromQLOfVariableQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{`label_values(tagpulse_ingest_source_up, source)`, `tagpulse_ingest_source_up`},
		{`label_values(tagpulse_x{job="a,b"}, source)`, `tagpulse_x{job="a,b"}`},
		{`label_values(source)`, `up`},
		{`query_result(sum(tagpulse_x))`, `sum(tagpulse_x)`},
		{`sum(tagpulse_x)`, `sum(tagpulse_x)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := promQLOfVariableQuery(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
