// Package web is the trend surface of the aggregate HTTP server: the JSON
// API (GET /api/v1/top, /api/v1/trending, /api/v1/series,
// /api/v1/tags/{tag}, /api/v1/filters and /api/v1/topics; PUT and DELETE
// /api/v1/topics/{name} with the admin token), its OpenAPI document
// (/api/v1/openapi.json), the web page at / that shows the trending and
// top tags with sparklines, and the page of one tag at /tags/{tag} (its
// counts against the previous window, its chart, since when it rises, the
// tags used with it and its latest posts), to which every tag of the
// lists links. The pages and their assets are embedded in the binary, so
// they work without any network beyond the server, under a strict
// Content-Security-Policy. The answers come from a trend.Store, at most
// Config.MaxInFlight queries at a time (503 beyond), each answer kept for
// Config.CacheTTL, and only to requests whose Host header names this
// server (against DNS rebinding). cmd/aggregate mounts NewHandler beside
// /metrics, /healthz and /readyz.
package web

import (
	"bytes"
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
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"tagpulse/internal/trend"
)

// Store answers the trend questions; *trend.Store is the real one.
type Store interface {
	Top(ctx context.Context, q trend.Query) ([]trend.Count, error)
	Trending(ctx context.Context, q trend.Query) ([]trend.Trend, error)
	Series(ctx context.Context, q trend.SeriesQuery) ([]trend.Series, error)
	Tag(ctx context.Context, q trend.TagQuery) (trend.TagPage, error)
	Known(ctx context.Context) (sources, langs []string, err error)
}

// Filters are the values the source and lang parameters can take: those of
// the stored posts, in order. The page fills its filter menus with them.
type Filters struct {
	Sources []string `json:"sources"`
	Langs   []string `json:"langs"`
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
	// Config bounds the queries in flight, sets the answer cache and the
	// host names answered; its zero value has DefaultMaxInFlight, no
	// cache and the default host names.
	Config Config
	// ListenAddr is the server's listen address; its host is one of the
	// names the Host header may carry.
	ListenAddr string
	// Topics keeps the topics of GET /api/v1/topics and of the edits;
	// nil answers them 503.
	Topics TopicStore
}

//go:embed openapi.json
var openAPI []byte

//go:embed static
var static embed.FS

// route is one API endpoint: its path, which may hold wildcards
// ("/api/v1/tags/{tag}", as http.ServeMux patterns write them), the query
// parameters it accepts (the OpenAPI document lists exactly these and the
// wildcards, which a test checks) and the question it asks of the store.
type route struct {
	path   string
	name   string // handler label of the metrics
	params []string
	multi  []string // parameters that may repeat
	ask    func(h *handler, p params) (question, error)
}

// wildcards returns the names of the path's wildcards, in order.
func (rt *route) wildcards() []string {
	var out []string
	for _, seg := range strings.Split(rt.path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			out = append(out, strings.TrimSuffix(name, "}"))
		}
	}
	return out
}

// question is a checked query: key names it among all the questions of all
// routes (the same key, the same answer), and run asks the store. file is
// the name a CSV answer is saved under, without .csv; empty means the
// route's name.
type question struct {
	key  string
	file string
	run  func(ctx context.Context) (any, error)
}

var apiRoutes = []route{
	{
		path:   "/api/v1/top",
		name:   "top",
		params: []string{"window", "limit", "source", "lang", "at", "topics", "format"},
		ask:    (*handler).top,
	},
	{
		path:   "/api/v1/trending",
		name:   "trending",
		params: []string{"window", "limit", "source", "lang", "at", "by", "concentrated", "topics", "format"},
		ask:    (*handler).trending,
	},
	{
		path:   "/api/v1/series",
		name:   "series",
		params: []string{"tag", "topic", "window", "step", "source", "lang", "at", "format"},
		multi:  []string{"tag", "topic"},
		ask:    (*handler).series,
	},
	{
		path:   "/api/v1/tags/{tag}",
		name:   "tag",
		params: []string{"window", "posts", "source", "lang", "at", "format"},
		ask:    (*handler).tag,
	},
	{
		path: "/api/v1/filters",
		name: "filters",
		ask:  (*handler).filters,
	},
	{
		path:   "/api/v1/topics",
		name:   "topics",
		params: []string{"format"},
		ask:    (*handler).topics,
	},
}

type handler struct {
	store      Store
	topicStore TopicStore
	adminToken string
	log        *slog.Logger
	now        func() time.Time
	answers    *answers
	metrics    *metrics
}

// NewHandler returns the API, the OpenAPI document and the page, behind
// the Host check.
func NewHandler(opts Options) http.Handler {
	cfg := opts.Config
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	h := &handler{store: opts.Store, topicStore: opts.Topics, adminToken: cfg.AdminToken, log: opts.Logger, now: opts.Now,
		answers: newAnswers(cfg.MaxInFlight, cfg.CacheTTL)}
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
	names := []string{"page", "tag_page", "assets", "openapi", "topic_edit"}
	var apiNames []string
	for _, rt := range apiRoutes {
		apiNames = append(apiNames, rt.name)
	}
	m := newMetrics(reg, append(names, apiNames...), apiNames, h.answers.inFlight)
	h.metrics = m

	mux := http.NewServeMux()
	for _, rt := range apiRoutes {
		mux.Handle("GET "+rt.path, m.instrument(rt.name, h.api(rt)))
	}
	for _, method := range []string{"PUT", "DELETE"} {
		mux.Handle(method+" "+topicEditPath, m.instrument("topic_edit", http.HandlerFunc(h.editTopic)))
	}
	mux.Handle("GET /api/v1/openapi.json", m.instrument("openapi", http.HandlerFunc(serveOpenAPI)))
	assets, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	mux.Handle("GET /assets/", m.instrument("assets", pageHeaders(http.StripPrefix("/assets/", http.FileServerFS(assets)))))
	mux.Handle("GET /{$}", m.instrument("page", pageHeaders(htmlFile(assets, "index.html"))))
	// The tag page reads its tag from its own address; a tag the API
	// refuses gets the page, which says why.
	mux.Handle("GET /tags/{tag}", m.instrument("tag_page", pageHeaders(htmlFile(assets, "tag.html"))))
	return checkHost(newHostPolicy(cfg.AllowedHosts, opts.ListenAddr), m.hostRefused, mux)
}

// checkHost answers 421 to requests whose Host header is not one of this
// server's names (see hostPolicy), before any handler runs, and counts
// them in refused.
func checkHost(p hostPolicy, refused prometheus.Counter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.allows(r.Host) {
			refused.Inc()
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusMisdirectedRequest)
			fmt.Fprintf(w, "this server does not answer to the host name %q; its operator can add it with --api-allowed-hosts (AGGREGATE_API_ALLOWED_HOSTS)\n", r.Host)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// htmlFile serves one HTML file of the embedded assets, whatever the
// request's path.
func htmlFile(assets fs.FS, name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, assets, name)
	})
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

// params are the checked query parameters and path wildcards of one
// request.
type params struct {
	values url.Values
	path   map[string]string
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

// wildcard returns the value of one of the route's path wildcards,
// unescaped. Asking for one the path does not have is a programming error.
func (p params) wildcard(name string) string {
	v, ok := p.path[name]
	if !ok {
		panic("web: wildcard " + name + " is not in the path " + p.route.path)
	}
	return v
}

func (p params) all(name string) []string {
	if !slices.Contains(p.route.multi, name) {
		panic("web: parameter " + name + " is not declared repeatable for " + p.route.path)
	}
	return p.values[name]
}

func checkParams(rt *route, r *http.Request) (params, error) {
	values := r.URL.Query()
	path := map[string]string{}
	for _, w := range rt.wildcards() {
		path[w] = r.PathValue(w)
	}
	for name, vs := range values {
		if !slices.Contains(rt.params, name) {
			return params{}, badRequestf("unknown parameter %q; %s accepts %s", name, rt.path, strings.Join(rt.params, ", "))
		}
		if len(vs) > 1 && !slices.Contains(rt.multi, name) {
			return params{}, badRequestf("parameter %q given %d times; it takes one value", name, len(vs))
		}
	}
	return params{values: values, path: path, route: rt}, nil
}

func (p params) duration(name, def string) (time.Duration, error) {
	d, err := trend.ParseDuration(p.get(name, def))
	if err != nil {
		return 0, badRequestf("%s: %v", name, err)
	}
	return d, nil
}

// at is the time the question is asked of: the at parameter, or now. The
// key part names it for the answer cache: "now", or the minute asked of
// (every time of one minute has the same answer).
func (p params) at(now func() time.Time) (time.Time, string, error) {
	v := p.get("at", "")
	if v == "" {
		return now(), "now", nil
	}
	t, err := trend.ParseAt("at", v)
	if err != nil {
		return time.Time{}, "", badRequest(err.Error())
	}
	return t, strconv.FormatInt(t.Unix()-t.Unix()%60, 10), nil
}

// query reads the parameters of top and trending; the key names the
// question among those of the route.
func (p params) query(now func() time.Time) (trend.Query, string, error) {
	window, err := p.duration("window", "1h")
	if err != nil {
		return trend.Query{}, "", err
	}
	limit, err := strconv.Atoi(p.get("limit", strconv.Itoa(trend.DefaultLimit)))
	if err != nil {
		return trend.Query{}, "", badRequestf("limit must be a whole number between 1 and %d", trend.MaxLimit)
	}
	at, atKey, err := p.at(now)
	if err != nil {
		return trend.Query{}, "", err
	}
	q := trend.Query{At: at, Window: window, Limit: limit, Filter: p.filter()}
	switch v := p.get("topics", "false"); v {
	case "false":
	case "true":
		q.Topics = true
	default:
		return trend.Query{}, "", badRequestf("topics %q: want true (count topics) or false (tags)", v)
	}
	if slices.Contains(p.route.params, "by") {
		if q.By, err = trend.ParseBy(p.get("by", "")); err != nil {
			return trend.Query{}, "", badRequest(err.Error())
		}
	}
	if slices.Contains(p.route.params, "concentrated") {
		switch v := p.get("concentrated", "exclude"); v {
		case "exclude":
		case "include":
			q.IncludeConcentrated = true
		default:
			return trend.Query{}, "", badRequestf("concentrated %q: want exclude or include", v)
		}
	}
	key := fmt.Sprintf("%s window=%d limit=%d source=%q lang=%q by=%s concentrated=%v topics=%v at=%s", p.route.name, q.Window, q.Limit, q.Source, q.Lang, q.By, q.IncludeConcentrated, q.Topics, atKey)
	return q, key, q.Validate()
}

// format is how an answer is written: JSON (the default) or CSV.
type format struct {
	name        string
	contentType string
	encode      func(v any) ([]byte, error)
}

var formats = []format{
	{"json", "application/json", func(v any) ([]byte, error) {
		b, err := json.Marshal(v)
		return append(b, '\n'), err
	}},
	{"csv", "text/csv; charset=utf-8", func(v any) ([]byte, error) {
		var b bytes.Buffer
		err := trend.WriteCSV(&b, v)
		return b.Bytes(), err
	}},
}

// format reads the format parameter: json (the default) or csv. A route
// without the parameter answers JSON.
func (p params) format() (format, error) {
	name := "json"
	if slices.Contains(p.route.params, "format") {
		name = p.get("format", name)
	}
	for _, f := range formats {
		if f.name == name {
			return f, nil
		}
	}
	return format{}, badRequestf("format %q: want json or csv", name)
}

func (p params) filter() trend.Filter {
	return trend.Filter{Source: p.get("source", ""), Lang: p.get("lang", "")}
}

func (h *handler) top(p params) (question, error) {
	q, key, err := p.query(h.now)
	return question{key: key, run: func(ctx context.Context) (any, error) { return h.store.Top(ctx, q) }}, err
}

func (h *handler) trending(p params) (question, error) {
	q, key, err := p.query(h.now)
	return question{key: key, run: func(ctx context.Context) (any, error) { return h.store.Trending(ctx, q) }}, err
}

func (h *handler) series(p params) (question, error) {
	window, err := p.duration("window", "24h")
	if err != nil {
		return question{}, err
	}
	step, err := p.duration("step", "1h")
	if err != nil {
		return question{}, err
	}
	at, atKey, err := p.at(h.now)
	if err != nil {
		return question{}, err
	}
	// Tags and topics may be charted together: a series each, tags first.
	var queries []trend.SeriesQuery
	tags, topics := p.all("tag"), p.all("topic")
	if len(tags) > 0 || len(topics) == 0 {
		queries = append(queries, trend.SeriesQuery{At: at, Window: window, Step: step, Tags: tags, Filter: p.filter()})
	}
	if len(topics) > 0 {
		queries = append(queries, trend.SeriesQuery{At: at, Window: window, Step: step, Tags: topics, Topics: true, Filter: p.filter()})
	}
	key := fmt.Sprintf("series window=%d step=%d source=%q lang=%q at=%s", window, step, queries[0].Source, queries[0].Lang, atKey)
	for i := range queries {
		if err := queries[i].Validate(); err != nil {
			return question{}, err
		}
		key += fmt.Sprintf(" topics=%v names=%q", queries[i].Topics, queries[i].Tags)
	}
	return question{key: key, run: func(ctx context.Context) (any, error) {
		var out []trend.Series
		for _, q := range queries {
			s, err := h.store.Series(ctx, q)
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
		return out, nil
	}}, nil
}

// tag asks for the page of the tag in the path.
func (h *handler) tag(p params) (question, error) {
	window, err := p.duration("window", "1h")
	if err != nil {
		return question{}, err
	}
	posts, err := strconv.Atoi(p.get("posts", strconv.Itoa(trend.DefaultTagPosts)))
	if err != nil || posts == 0 { // 0 would mean the default to the store
		return question{}, badRequestf("posts must be a whole number between 1 and %d", trend.MaxTagPosts)
	}
	at, atKey, err := p.at(h.now)
	if err != nil {
		return question{}, err
	}
	q := trend.TagQuery{Tag: p.wildcard("tag"), At: at, Window: window, Posts: posts, Filter: p.filter()}
	if err := q.Validate(); err != nil {
		return question{}, err
	}
	key := fmt.Sprintf("tag tag=%q window=%d posts=%d source=%q lang=%q at=%s", q.Tag, q.Window, q.Posts, q.Source, q.Lang, atKey)
	return question{key: key, file: "tag-" + q.Tag, run: func(ctx context.Context) (any, error) { return h.store.Tag(ctx, q) }}, nil
}

func (h *handler) filters(params) (question, error) {
	return question{key: "filters", run: func(ctx context.Context) (any, error) {
		sources, langs, err := h.store.Known(ctx)
		// Never null in JSON: an empty database has no values.
		return Filters{Sources: append([]string{}, sources...), Langs: append([]string{}, langs...)}, err
	}}, nil
}

// api serves one route: check the parameters, answer from the cache or
// query in a free slot, answer JSON. Bad parameters get 400 with a
// message, a full server 503 with Retry-After, a database without the
// schema 503 saying to migrate, anything else 500 without details.
func (h *handler) api(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := checkParams(&rt, r)
		var (
			q   question
			out format
		)
		if err == nil {
			q, err = rt.ask(h, p)
		}
		if err == nil {
			out, err = p.format()
		}
		var body []byte
		if err == nil {
			var hit bool
			body, hit, err = h.answers.get(r.Context(), q.key+" format="+out.name, func(ctx context.Context) ([]byte, error) {
				h.metrics.storeQueries.WithLabelValues(rt.name).Inc()
				v, err := q.run(ctx)
				if err != nil {
					return nil, err
				}
				// The body is shared by every caller from now on: it is
				// complete here and only read after.
				return out.encode(v)
			})
			if hit {
				h.metrics.cacheHits.WithLabelValues(rt.name).Inc()
			}
		}
		switch {
		case err == nil:
			if out.name == "csv" {
				file := q.file
				if file == "" {
					file = rt.name
				}
				w.Header().Set("Content-Disposition", attachment(file+".csv"))
			}
			writeBody(w, http.StatusOK, out.contentType, body)
		case errors.As(err, new(badRequest)), errors.Is(err, trend.ErrInvalidQuery):
			writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
		case errors.Is(err, trend.ErrOldSchema):
			// Only ours: ClickHouse's message names the database.
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: trend.ErrOldSchema.Error()})
		case errors.Is(err, trend.ErrNoSchema):
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: trend.ErrNoSchema.Error()})
		case errors.Is(err, errNoTopics):
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: errNoTopics.Error()})
		case errors.Is(err, errBusy):
			w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfter/time.Second)))
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "the server is answering as many trend queries as it may; retry shortly"})
		case r.Context().Err() != nil:
			// The client went away; nobody reads an answer.
			w.WriteHeader(499)
		default:
			h.log.Error("trend query", "handler", rt.name, "err", err)
			writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error; see the server log"})
		}
	})
}

// attachment returns the Content-Disposition of an answer saved as name:
// quoted, as every browser reads it, when name is plain ASCII; otherwise a
// plain fallback (other characters replaced by _) and the name itself in the
// UTF-8 form of RFC 6266 (filename*), so a tag like 安全保障 keeps its
// name and no byte of it can break the header.
func attachment(name string) string {
	var fallback, encoded strings.Builder
	ascii := true
	for _, r := range name {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.') {
			fallback.WriteRune(r)
			encoded.WriteRune(r)
			continue
		}
		ascii = false
		fallback.WriteByte('_')
		for _, c := range []byte(string(r)) {
			fmt.Fprintf(&encoded, "%%%02X", c)
		}
	}
	if ascii {
		return `attachment; filename="` + name + `"`
	}
	return `attachment; filename="` + fallback.String() + `"; filename*=UTF-8''` + encoded.String()
}

type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only error bodies, which always encode
	}
	writeBody(w, code, "application/json", append(b, '\n'))
}

func writeBody(w http.ResponseWriter, code int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(body)
}
