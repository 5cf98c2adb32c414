package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
)

type openAPIParam struct {
	Ref      string          `json:"$ref"`
	Name     string          `json:"name"`
	In       string          `json:"in"`
	Required bool            `json:"required"`
	Explode  *bool           `json:"explode"`
	Schema   json.RawMessage `json:"schema"`
	Example  json.RawMessage `json:"example"`
}

type openAPIDoc struct {
	OpenAPI string `json:"openapi"`
	Paths   map[string]map[string]struct {
		Parameters []openAPIParam `json:"parameters"`
		Responses  map[string]any `json:"responses"`
	} `json:"paths"`
	Components struct {
		Parameters map[string]openAPIParam `json:"parameters"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	dec := json.NewDecoder(strings.NewReader(string(openAPI)))
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decoding openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q, want 3.x", doc.OpenAPI)
	}
	return doc
}

// params resolves the parameters of one operation.
func (d openAPIDoc) params(t *testing.T, ps []openAPIParam) []openAPIParam {
	t.Helper()
	var out []openAPIParam
	for _, p := range ps {
		if p.Ref != "" {
			name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
			ref, found := d.Components.Parameters[name]
			if !ok || !found {
				t.Fatalf("unresolved $ref %q", p.Ref)
			}
			p = ref
		}
		out = append(out, p)
	}
	return out
}

// TestOpenAPIDocumentsTopicEdits checks the document of the edit
// endpoints: PUT and DELETE only, each behind the admin token, with the
// path's wildcard and the answers the handler gives.
func TestOpenAPIDocumentsTopicEdits(t *testing.T) {
	doc := loadOpenAPI(t)
	ops := doc.Paths[topicEditPath]
	if len(ops) != 2 || ops["put"].Responses == nil || ops["delete"].Responses == nil {
		t.Fatalf("%s: want put and delete operations, have %v", topicEditPath, ops)
	}
	for method, op := range ops {
		for _, code := range []string{"200", "400", "401", "403"} {
			if _, ok := op.Responses[code]; !ok {
				t.Errorf("%s %s: no %s response documented", method, topicEditPath, code)
			}
		}
		params := doc.params(t, op.Parameters)
		if len(params) == 0 || params[0].In != "path" || params[0].Name != "name" || !params[0].Required {
			t.Errorf("%s %s: first parameter %+v, want the required path parameter name", method, topicEditPath, params)
		}
	}
}

// TestOpenAPIMatchesRoutes checks that the document lists exactly the
// routes, their path wildcards and the query parameters the handlers
// accept (the handlers reject any other parameter, and read parameters
// only from their route's list), and that every documented example is
// accepted.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	var docPaths, routePaths []string
	for p := range doc.Paths {
		docPaths = append(docPaths, p)
	}
	for _, rt := range apiRoutes {
		routePaths = append(routePaths, rt.path)
	}
	routePaths = append(routePaths, topicEditPath)
	sort.Strings(docPaths)
	sort.Strings(routePaths)
	if !slices.Equal(docPaths, routePaths) {
		t.Fatalf("openapi.json paths %v, handlers serve %v", docPaths, routePaths)
	}

	h := newTestHandler(&fakeStore{}, nil)
	for _, rt := range apiRoutes {
		t.Run(rt.path, func(t *testing.T) {
			ops := doc.Paths[rt.path]
			if len(ops) != 1 || ops["get"].Responses == nil {
				t.Fatalf("want exactly a get operation, have %v", ops)
			}
			op := ops["get"]
			for _, code := range []string{"200", "400"} {
				if _, ok := op.Responses[code]; !ok {
					t.Errorf("no %s response documented", code)
				}
			}
			params := doc.params(t, op.Parameters)
			var names, wildcards []string
			values := url.Values{}
			path := rt.path
			for _, p := range params {
				if p.In == "path" {
					// A path parameter is a wildcard of the route, always
					// required; its example fills the path.
					wildcards = append(wildcards, p.Name)
					var example string
					if err := json.Unmarshal(p.Example, &example); err != nil || !p.Required {
						t.Errorf("path parameter %s: required %v, example %s (%v); want required with a string example", p.Name, p.Required, p.Example, err)
					}
					path = strings.Replace(path, "{"+p.Name+"}", url.PathEscape(example), 1)
					continue
				}
				if p.In != "query" {
					t.Errorf("parameter %s is in %s, want query or path", p.Name, p.In)
				}
				names = append(names, p.Name)
				multi := slices.Contains(rt.multi, p.Name)
				if isArray := strings.Contains(string(p.Schema), `"type": "array"`); isArray != multi {
					t.Errorf("parameter %s: array in the document %v, repeatable in the handler %v", p.Name, isArray, multi)
				}
				if len(p.Example) == 0 {
					t.Errorf("parameter %s has no example", p.Name)
					continue
				}
				var example any
				json.Unmarshal(p.Example, &example)
				switch v := example.(type) {
				case []any:
					for _, one := range v {
						values.Add(p.Name, fmt.Sprint(one))
					}
				default:
					values.Set(p.Name, fmt.Sprint(v))
				}
			}
			want := slices.Clone(rt.params)
			sort.Strings(names)
			sort.Strings(want)
			if !slices.Equal(names, want) {
				t.Errorf("documented parameters %v, handler accepts %v", names, want)
			}
			if !slices.Equal(wildcards, rt.wildcards()) {
				t.Errorf("documented path parameters %v, the path %s has %v", wildcards, rt.path, rt.wildcards())
			}

			// Every documented parameter, with its example, is accepted.
			rec := get(t, h, path+"?"+values.Encode())
			if rec.Code != http.StatusOK {
				t.Errorf("documented examples %s: status %d %s", values.Encode(), rec.Code, rec.Body)
			}
			// Required parameters are required, and nothing undocumented is
			// accepted.
			for _, p := range params {
				if p.Required && p.In == "query" {
					without := url.Values{}
					for k, v := range values {
						if k != p.Name {
							without[k] = v
						}
					}
					if rec := get(t, h, path+"?"+without.Encode()); rec.Code != http.StatusBadRequest {
						t.Errorf("without required %s: status %d", p.Name, rec.Code)
					}
				}
			}
			values.Set("undocumented", "1")
			if rec := get(t, h, path+"?"+values.Encode()); rec.Code != http.StatusBadRequest {
				t.Errorf("undocumented parameter: status %d, want 400", rec.Code)
			}
		})
	}
}
