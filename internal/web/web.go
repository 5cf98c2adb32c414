// Package web is the trend surface of the aggregate HTTP server: the JSON
// API (GET /api/v1/top, /api/v1/trending, /api/v1/series), its OpenAPI
// document (/api/v1/openapi.json) and the web page at / that shows the
// trending and top tags with sparklines. The page and its assets are
// embedded in the binary, so it works without any network beyond the
// server. The answers come from a trend.Store; cmd/aggregate mounts
// NewHandler beside /metrics, /healthz and /readyz.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tagpulse/internal/trend"
)

// Store answers the trend questions; *trend.Store is the real one.
type Store interface {
	Top(ctx context.Context, q trend.Query) ([]trend.Count, error)
	Trending(ctx context.Context, q trend.Query) ([]trend.Trend, error)
	Series(ctx context.Context, q trend.SeriesQuery) ([]trend.Series, error)
}

// Options configure NewHandler.
type Options struct {
	// Store answers the queries (required).
	Store Store
	// Registerer receives the tagpulse_api_* metrics; nil registers
	// nowhere.
	Registerer prometheus.Registerer
	// Logger reports failed queries; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock the windows end at; nil means time.Now.
	Now func() time.Time
}

//go:embed openapi.json
var openAPI []byte

//go:embed static
var static embed.FS

// route is one API endpoint: the query parameters it accepts (the OpenAPI
// document lists exactly these, which a test checks) and how it answers.
type route struct {
	path    string
	name    string // handler label of the metrics
	params  []string
	multi   []string // parameters that may repeat
	respond func(h *handler, r *http.Request, p params) (any, error)
}

var apiRoutes = []route{
	{
		path:    "/api/v1/top",
		name:    "top",
		params:  []string{"window", "limit", "source", "lang"},
		respond: (*handler).top,
	},
	{
		path:    "/api/v1/trending",
		name:    "trending",
		params:  []string{"window", "limit", "source", "lang"},
		respond: (*handler).trending,
	},
	{
		path:    "/api/v1/series",
		name:    "series",
		params:  []string{"tag", "window", "step", "source", "lang"},
		multi:   []string{"tag"},
		respond: (*handler).series,
	},
}

type handler struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
}

// NewHandler returns the API, the OpenAPI document and the page.
func NewHandler(opts Options) http.Handler {
	h := &handler{store: opts.Store, log: opts.Logger, now: opts.Now}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	names := []string{"page", "assets", "openapi"}
	for _, rt := range apiRoutes {
		names = append(names, rt.name)
	}
	m := newMetrics(reg, names)

	mux := http.NewServeMux()
	for _, rt := range apiRoutes {
		mux.Handle("GET "+rt.path, m.instrument(rt.name, h.api(rt)))
	}
	mux.Handle("GET /api/v1/openapi.json", m.instrument("openapi", http.HandlerFunc(serveOpenAPI)))
	assets, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	mux.Handle("GET /assets/", m.instrument("assets", pageHeaders(http.StripPrefix("/assets/", http.FileServerFS(assets)))))
	mux.Handle("GET /{$}", m.instrument("page", pageHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, assets, "index.html")
	}))))
	return mux
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(openAPI)
}

// pageHeaders sets the headers of the page and its assets: nothing but
// this server may be loaded or connected to.
func pageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// badRequest is a parameter error found before any query; its text is the
// answer.
type badRequest string

func (e badRequest) Error() string { return string(e) }

func badRequestf(format string, args ...any) error {
	return badRequest(fmt.Sprintf(format, args...))
}

// params are the checked query parameters of one request.
type params struct {
	values url.Values
	route  *route
}

// get returns a parameter's value, or def when it is absent. Asking for a
// parameter the route does not declare is a programming error.
func (p params) get(name, def string) string {
	if !slices.Contains(p.route.params, name) {
		panic("web: parameter " + name + " is not declared for " + p.route.path)
	}
	if v, ok := p.values[name]; ok {
		return v[0]
	}
	return def
}

func (p params) all(name string) []string {
	if !slices.Contains(p.route.multi, name) {
		panic("web: parameter " + name + " is not declared repeatable for " + p.route.path)
	}
	return p.values[name]
}

func checkParams(rt *route, values url.Values) (params, error) {
	for name, vs := range values {
		if !slices.Contains(rt.params, name) {
			return params{}, badRequestf("unknown parameter %q; %s accepts %s", name, rt.path, strings.Join(rt.params, ", "))
		}
		if len(vs) > 1 && !slices.Contains(rt.multi, name) {
			return params{}, badRequestf("parameter %q given %d times; it takes one value", name, len(vs))
		}
	}
	return params{values: values, route: rt}, nil
}

func (p params) duration(name, def string) (time.Duration, error) {
	d, err := trend.ParseDuration(p.get(name, def))
	if err != nil {
		return 0, badRequestf("%s: %v", name, err)
	}
	return d, nil
}

func (p params) query(at time.Time) (trend.Query, error) {
	window, err := p.duration("window", "1h")
	if err != nil {
		return trend.Query{}, err
	}
	limit, err := strconv.Atoi(p.get("limit", strconv.Itoa(trend.DefaultLimit)))
	if err != nil {
		return trend.Query{}, badRequestf("limit must be a whole number between 1 and %d", trend.MaxLimit)
	}
	q := trend.Query{At: at, Window: window, Limit: limit, Filter: p.filter()}
	return q, q.Validate()
}

func (p params) filter() trend.Filter {
	return trend.Filter{Source: p.get("source", ""), Lang: p.get("lang", "")}
}

func (h *handler) top(r *http.Request, p params) (any, error) {
	q, err := p.query(h.now())
	if err != nil {
		return nil, err
	}
	return h.store.Top(r.Context(), q)
}

func (h *handler) trending(r *http.Request, p params) (any, error) {
	q, err := p.query(h.now())
	if err != nil {
		return nil, err
	}
	return h.store.Trending(r.Context(), q)
}

func (h *handler) series(r *http.Request, p params) (any, error) {
	window, err := p.duration("window", "24h")
	if err != nil {
		return nil, err
	}
	step, err := p.duration("step", "1h")
	if err != nil {
		return nil, err
	}
	q := trend.SeriesQuery{At: h.now(), Window: window, Step: step, Tags: p.all("tag"), Filter: p.filter()}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return h.store.Series(r.Context(), q)
}

// api serves one route: check the parameters, query, answer JSON; bad
// parameters get 400 with a message, anything else 500 without details.
func (h *handler) api(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := checkParams(&rt, r.URL.Query())
		var body any
		if err == nil {
			body, err = rt.respond(h, r, p)
		}
		switch {
		case err == nil:
			writeJSON(w, http.StatusOK, body)
		case errors.As(err, new(badRequest)), errors.Is(err, trend.ErrInvalidQuery):
			writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
		case r.Context().Err() != nil:
			// The client went away; nobody reads an answer.
			w.WriteHeader(499)
		default:
			h.log.Error("trend query", "handler", rt.name, "err", err)
			writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error; see the server log"})
		}
	})
}

type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.Encode(v)
}
