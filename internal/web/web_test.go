package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"tagpulse/internal/topic"
	"tagpulse/internal/trend"
)

var clock = time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)

// fakeStore records the last query and answers canned data, so the
// handler tests check parameter handling and shapes only; the queries
// themselves are tested on ClickHouse in package trend and by the browser
// test here.
type fakeStore struct {
	query  trend.Query
	series trend.SeriesQuery
	tag    trend.TagQuery
	// tagQueries counts the calls of Tag.
	tagQueries int
	err        error
}

func (f *fakeStore) Top(_ context.Context, q trend.Query) ([]trend.Count, error) {
	f.query = q
	return []trend.Count{{Tag: "nif2025", Display: "NIF2025", Count: 40, Accounts: 31}, {Tag: "nato", Display: "NATO", Count: 10, Accounts: 10}}, f.err
}

func (f *fakeStore) Trending(_ context.Context, q trend.Query) ([]trend.Trend, error) {
	f.query = q
	by := q.By
	return []trend.Trend{{Tag: "nif2025", Display: "NIF2025", Count: 40, Accounts: 31, By: by, Expected: 1, Score: 39, HistoryWindows: 24, EnoughHistory: true}}, f.err
}

func (f *fakeStore) Series(_ context.Context, q trend.SeriesQuery) ([]trend.Series, error) {
	f.series = q
	out := []trend.Series{}
	for _, t := range q.Tags {
		out = append(out, trend.Series{Tag: t, Display: t, Points: []trend.Point{{Time: clock, Count: 1}}})
	}
	return out, f.err
}

func (f *fakeStore) Tag(_ context.Context, q trend.TagQuery) (trend.TagPage, error) {
	f.tag = q
	f.tagQueries++
	from, to := trend.Span(q.At, q.Window)
	return trend.TagPage{Tag: q.Tag, Display: q.Tag, From: from, To: to, Count: 2, Accounts: 1, Step: "1h",
		Previous: trend.WindowCount{From: from.Add(-q.Window), To: from},
		Points:   []trend.Point{{Time: clock.Truncate(time.Hour), End: clock.Truncate(time.Hour).Add(time.Hour), Count: 2, Accounts: 1}},
		CoTags:   []trend.CoTag{{Tag: "nato", Display: "NATO", Count: 1}}, CoSample: 2,
		Posts: []trend.TagPost{{ID: "m:1", CreatedAt: clock, Source: "mastodon", Lang: "fr", Author: "@a", URL: "https://social.example/1", Excerpt: "=1+1 #" + q.Tag}},
	}, f.err
}

func (f *fakeStore) Known(context.Context) ([]string, []string, error) {
	return []string{"mastodon", "rss"}, []string{"en", "fr"}, f.err
}

// fakeTopics records the edits it is asked for and lists one topic.
type fakeTopics struct {
	set     map[string][]string
	deleted []string
}

func (f *fakeTopics) List(context.Context) ([]topic.Topic, error) {
	return []topic.Topic{{Name: "nato", Tags: []string{"nato", "otan"}}}, nil
}

func (f *fakeTopics) Set(_ context.Context, name, by string, tags []string) ([]topic.Change, error) {
	if err := topic.CheckName(name); err != nil {
		return nil, err
	}
	if f.set == nil {
		f.set = map[string][]string{}
	}
	f.set[name] = append([]string{by}, tags...)
	return []topic.Change{{Topic: name, Tag: tags[0], Added: true}}, nil
}

func (f *fakeTopics) Delete(_ context.Context, name, _ string) ([]string, error) {
	if name != "nato" {
		return nil, topic.ErrNotFound
	}
	f.deleted = append(f.deleted, name)
	return []string{"nato", "otan"}, nil
}

// testAdminToken is the admin token of newTestHandler.
const testAdminToken = "s3cret"

func newTestHandler(store Store, reg prometheus.Registerer) http.Handler {
	return newTestHandlerTopics(store, reg, &fakeTopics{})
}

func newTestHandlerTopics(store Store, reg prometheus.Registerer, topics TopicStore) http.Handler {
	return NewHandler(Options{
		Store:      store,
		Topics:     topics,
		Registerer: reg,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:        func() time.Time { return clock },
		Config:     Config{AllowedHosts: []string{"example.com"}, AdminToken: testAdminToken}, // httptest's Host
	})
}

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func TestBadParameters(t *testing.T) {
	h := newTestHandler(&fakeStore{}, nil)
	for _, tc := range []struct {
		target string
		want   string
	}{
		{"/api/v1/top?window=100d", "window must be between 1m and 90d"},
		{"/api/v1/top?window=30s", "window must be between 1m and 90d"},
		{"/api/v1/top?window=90s", "whole number of minutes"},
		{"/api/v1/top?window=soon", "window: duration"},
		{"/api/v1/top?limit=0", "limit must be between 1 and 1000"},
		{"/api/v1/trending?by=likes", `by must be accounts or posts, got "likes"`},
		{"/api/v1/top?by=posts", "unknown parameter"},
		{"/api/v1/trending?concentrated=maybe", `concentrated "maybe": want exclude or include`},
		{"/api/v1/top?concentrated=include", "unknown parameter"},
		{"/api/v1/top?limit=1001", "limit must be between 1 and 1000"},
		{"/api/v1/top?limit=ten", "limit must be a whole number"},
		{"/api/v1/top?windw=1h", `unknown parameter "windw"`},
		{"/api/v1/top?window=1h&window=2h", `"window" given 2 times`},
		{"/api/v1/trending?limit=-1", "limit must be between"},
		{"/api/v1/trending?tag=x", `unknown parameter "tag"`},
		{"/api/v1/trending?source=" + strings.Repeat("s", 65), "source must be"},
		{"/api/v1/series", "at least one tag"},
		{"/api/v1/series?tag=%23", "tag must be non-empty"},
		{"/api/v1/series?tag=a&window=1h&step=7m", "whole number of steps"},
		{"/api/v1/series?tag=a&window=30d&step=1m", "at most 1440 points"},
		{"/api/v1/series?tag=a&limit=3", `unknown parameter "limit"`},
		{"/api/v1/series?tag=a&step=0", "step must be"},
		{"/api/v1/top?at=yesterday", `at "yesterday": want an RFC 3339 time`},
		{"/api/v1/series?tag=a&at=2025-11-20", `at "2025-11-20": want an RFC 3339 time`},
		{"/api/v1/top?at=9999-01-01T00:00:00Z", "the window of 1h ending then must lie between"},
		{"/api/v1/tags/%23", "tag must be non-empty"},
		{"/api/v1/tags/" + strings.Repeat("x", trend.MaxTagBytes+1), "tag must be non-empty valid UTF-8 of at most"},
		{"/api/v1/tags/%FF", "tag must be non-empty valid UTF-8"},
		{"/api/v1/tags/otan?posts=0", "posts must be a whole number between 1 and 100"},
		{"/api/v1/tags/otan?posts=101", "posts must be between 1 and 100"},
		{"/api/v1/tags/otan?posts=many", "posts must be a whole number"},
		{"/api/v1/tags/otan?window=91d", "window must be between 1m and 90d"},
		{"/api/v1/tags/otan?tag=nato", `unknown parameter "tag"`},
		{"/api/v1/tags/otan?limit=5", `unknown parameter "limit"`},
		{"/api/v1/tags/otan?lang=fr&lang=en", `"lang" given 2 times`},
		{"/api/v1/tags/otan?at=now", `at "now": want an RFC 3339 time`},
	} {
		t.Run(tc.target, func(t *testing.T) {
			rec := get(t, h, tc.target)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q is not a JSON object: %v", rec.Body, err)
			}
			if !strings.Contains(body["error"], tc.want) || len(body) != 1 {
				t.Errorf("body %v, want only error mentioning %q", body, tc.want)
			}
		})
	}
}

func TestQueriesAndShapes(t *testing.T) {
	store := &fakeStore{}
	h := newTestHandler(store, nil)

	t.Run("top defaults", func(t *testing.T) {
		rec := get(t, h, "/api/v1/top")
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		want := trend.Query{At: clock, Window: time.Hour, Limit: 20}
		if store.query != want {
			t.Errorf("query %+v, want %+v", store.query, want)
		}
		var got []map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0]["tag"] != "nif2025" || got[0]["display"] != "NIF2025" || got[0]["count"] != 40.0 || got[0]["accounts"] != 31.0 || len(got[0]) != 4 {
			t.Errorf("top body %s", rec.Body)
		}
	})
	t.Run("trending with filters", func(t *testing.T) {
		rec := get(t, h, "/api/v1/trending?window=7d&limit=5&source=rss&lang=fr")
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		want := trend.Query{At: clock, Window: 7 * 24 * time.Hour, Limit: 5, By: trend.ByAccounts, Filter: trend.Filter{Source: "rss", Lang: "fr"}}
		if store.query != want {
			t.Errorf("query %+v, want %+v", store.query, want)
		}
		want1 := `[{"tag":"nif2025","display":"NIF2025","count":40,"accounts":31,"by":"accounts","expected":1,"score":39,"history_windows":24,"enough_history":true,"top_account_share":0,"top_instance_share":0,"concentrated":false,"bot_posts":0}]` + "\n"
		if rec.Body.String() != want1 {
			t.Errorf("body %s, want %s", rec.Body, want1)
		}
	})
	t.Run("trending by posts", func(t *testing.T) {
		rec := get(t, h, "/api/v1/trending?by=posts")
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if store.query.By != trend.ByPosts {
			t.Errorf("query by %q, want posts", store.query.By)
		}
		if !strings.Contains(rec.Body.String(), `"by":"posts"`) {
			t.Errorf("body %s, want by posts", rec.Body)
		}
	})
	t.Run("trending with concentrated tags", func(t *testing.T) {
		for target, want := range map[string]bool{"/api/v1/trending?concentrated=include": true, "/api/v1/trending?concentrated=exclude": false, "/api/v1/trending": false} {
			if rec := get(t, h, target); rec.Code != http.StatusOK {
				t.Fatalf("%s: status %d: %s", target, rec.Code, rec.Body)
			}
			if store.query.IncludeConcentrated != want {
				t.Errorf("%s: IncludeConcentrated %v, want %v", target, store.query.IncludeConcentrated, want)
			}
		}
	})
	t.Run("at, as the CLI's --at", func(t *testing.T) {
		at := time.Date(2025, 11, 19, 8, 0, 0, 0, time.UTC)
		for _, target := range []string{"/api/v1/top?at=2025-11-19T08:00:00Z", "/api/v1/trending?at=2025-11-19T09:00:00%2B01:00"} {
			if rec := get(t, h, target); rec.Code != http.StatusOK {
				t.Fatalf("%s: status %d: %s", target, rec.Code, rec.Body)
			}
			if !store.query.At.Equal(at) {
				t.Errorf("%s: query at %s, want %s", target, store.query.At, at)
			}
		}
		if rec := get(t, h, "/api/v1/series?tag=a&at=2025-11-19T08:00:00Z"); rec.Code != http.StatusOK || !store.series.At.Equal(at) {
			t.Errorf("series at: status %d, at %s", rec.Code, store.series.At)
		}
	})
	t.Run("series", func(t *testing.T) {
		rec := get(t, h, "/api/v1/series?tag=%23nif2025&tag=otan&tag=nif2025&window=6h&step=12m")
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		q := store.series
		if strings.Join(q.Tags, ",") != "nif2025,otan" || q.Window != 6*time.Hour || q.Step != 12*time.Minute || !q.At.Equal(clock) {
			t.Errorf("series query %+v", q)
		}
		var got []trend.Series
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || len(got[0].Points) != 1 || !got[0].Points[0].Time.Equal(clock) {
			t.Errorf("series body %s", rec.Body)
		}
	})
	t.Run("tag", func(t *testing.T) {
		rec := get(t, h, "/api/v1/tags/%23R%C3%A9armement?window=24h&posts=5&source=rss&lang=fr")
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		want := trend.TagQuery{Tag: "rearmement", At: clock, Window: 24 * time.Hour, Posts: 5, Filter: trend.Filter{Source: "rss", Lang: "fr"}}
		if store.tag != want {
			t.Errorf("query %+v, want %+v", store.tag, want)
		}
		var got map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		for _, field := range []string{"tag", "display", "hidden", "from", "to", "count", "accounts", "previous", "top_account_share", "top_instance_share", "concentrated", "bot_posts",
			"step", "points", "rising_since", "cooccurring", "cooccurring_sample", "posts"} {
			if _, ok := got[field]; !ok {
				t.Errorf("no %q in %s", field, rec.Body)
			}
		}
		if got["tag"] != "rearmement" || got["rising_since"] != nil || got["from"] != "2025-11-19T14:38:00Z" {
			t.Errorf("tag body %s", rec.Body)
		}
		if rec := get(t, h, "/api/v1/tags/%E5%AE%89%E5%85%A8%E4%BF%9D%E9%9A%9C"); rec.Code != http.StatusOK || store.tag.Tag != "安全保障" || store.tag.Posts != trend.DefaultTagPosts || store.tag.Window != time.Hour {
			t.Errorf("non-ASCII tag with defaults: status %d, query %+v", rec.Code, store.tag)
		}
	})
	t.Run("the tag is part of the cached question", func(t *testing.T) {
		cached := &fakeStore{}
		h := NewHandler(Options{Store: cached, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return clock },
			Config: Config{AllowedHosts: []string{"example.com"}, CacheTTL: time.Minute}})
		for _, tc := range []struct {
			target, answer string
			queries        int
		}{
			{"/api/v1/tags/otan", "otan", 1},
			{"/api/v1/tags/nato", "nato", 2},
			{"/api/v1/tags/OTAN", "otan", 2}, // otan's question again: its kept answer
			{"/api/v1/tags/otan?lang=fr", "otan", 3},
		} {
			rec := get(t, h, tc.target)
			var page trend.TagPage
			if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || rec.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", tc.target, rec.Code, rec.Body)
			}
			if page.Tag != tc.answer || cached.tagQueries != tc.queries {
				t.Errorf("%s: answer for %q after %d store queries, want %q after %d", tc.target, page.Tag, cached.tagQueries, tc.answer, tc.queries)
			}
		}
	})
	t.Run("store failure is a 500 without details", func(t *testing.T) {
		store.err = errors.New("dial tcp 10.0.0.1:9000: secret detail")
		defer func() { store.err = nil }()
		rec := get(t, h, "/api/v1/top")
		if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "secret") {
			t.Errorf("status %d body %s", rec.Code, rec.Body)
		}
	})
	t.Run("no schema yet is a 503 that says what to run", func(t *testing.T) {
		store.err = fmt.Errorf("querying top tags: %w", trend.MissingSchema(&clickhouse.Exception{Code: 81, Message: "Database secret doesn't exist"}))
		defer func() { store.err = nil }()
		rec := get(t, h, "/api/v1/trending?window=2h")
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "run `aggregate migrate`") || strings.Contains(rec.Body.String(), "secret") {
			t.Errorf("status %d body %s, want 503 naming aggregate migrate without ClickHouse's message", rec.Code, rec.Body)
		}
	})
	t.Run("method", func(t *testing.T) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/top", nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST status %d, want 405", rec.Code)
		}
	})
}

func TestPage(t *testing.T) {
	h := newTestHandler(&fakeStore{}, nil)
	for _, tc := range []struct {
		target, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script src="/assets/app.js" defer></script>`},
		{"/assets/app.js", "text/javascript; charset=utf-8", "/api/v1/trending"},
		{"/assets/style.css", "text/css; charset=utf-8", ".spark"},
		{"/api/v1/openapi.json", "application/json", `"openapi": "3.0.3"`},
		{"/tags/otan", "text/html; charset=utf-8", `<script src="/assets/tag.js" defer></script>`},
		{"/tags/r%C3%A9armement", "text/html; charset=utf-8", `<script src="/assets/tag.js" defer></script>`},
		{"/assets/tag.js", "text/javascript; charset=utf-8", "/api/v1/tags/"},
		{"/assets/shared.js", "text/javascript; charset=utf-8", "textContent"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			rec := get(t, h, tc.target)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); ct != tc.contentType {
				t.Errorf("Content-Type %q, want %q", ct, tc.contentType)
			}
			if !strings.Contains(rec.Body.String(), tc.contains) {
				t.Errorf("body does not contain %q", tc.contains)
			}
		})
	}
	for _, page := range []string{"/", "/tags/otan"} {
		rec := get(t, h, page)
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: CSP %q, nosniff %q", page, csp, rec.Header().Get("X-Content-Type-Options"))
		}
		// Scripts come from files only, as the CSP demands.
		if inline := regexp.MustCompile(`<script(\s+defer)?>|\son[a-z]+=`).FindString(rec.Body.String()); inline != "" {
			t.Errorf("%s has an inline script: %s", page, inline)
		}
	}
	// Nothing on the pages may come from elsewhere: they must work offline.
	for _, asset := range []string{"/", "/tags/otan", "/assets/shared.js", "/assets/app.js", "/assets/tag.js", "/assets/style.css"} {
		body := get(t, h, asset).Body.String()
		for _, external := range []string{"http://", "https://", "//cdn", "@import"} {
			if strings.Contains(strings.ReplaceAll(body, "http://www.w3.org/2000/svg", ""), external) {
				t.Errorf("%s refers to %q", asset, external)
			}
		}
	}
	for _, target := range []string{"/nope", "/tags/", "/tags/a/b"} {
		if rec := get(t, h, target); rec.Code != http.StatusNotFound {
			t.Errorf("%s status %d, want 404", target, rec.Code)
		}
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newTestHandler(&fakeStore{}, reg)
	// Every handler's series exists before any request: top, trending,
	// series, tag, filters, topics, page, tag_page, assets, openapi,
	// topic_edit.
	if n := testutil.CollectAndCount(reg, "tagpulse_api_request_duration_seconds"); n != 11 {
		t.Fatalf("%d duration series, want 11", n)
	}
	get(t, h, "/api/v1/top")
	get(t, h, "/api/v1/top?limit=0")
	get(t, h, "/api/v1/top?limit=0")
	expected := `
# HELP tagpulse_api_requests_total Trend API and page requests by handler and HTTP status code.
# TYPE tagpulse_api_requests_total counter
tagpulse_api_requests_total{code="200",handler="assets"} 0
tagpulse_api_requests_total{code="200",handler="filters"} 0
tagpulse_api_requests_total{code="200",handler="openapi"} 0
tagpulse_api_requests_total{code="200",handler="page"} 0
tagpulse_api_requests_total{code="200",handler="series"} 0
tagpulse_api_requests_total{code="200",handler="tag"} 0
tagpulse_api_requests_total{code="200",handler="tag_page"} 0
tagpulse_api_requests_total{code="200",handler="top"} 1
tagpulse_api_requests_total{code="200",handler="topic_edit"} 0
tagpulse_api_requests_total{code="200",handler="topics"} 0
tagpulse_api_requests_total{code="200",handler="trending"} 0
tagpulse_api_requests_total{code="400",handler="top"} 2
`
	if err := testutil.CollectAndCompare(reg, strings.NewReader(expected), "tagpulse_api_requests_total"); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.CollectAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestCSVFormat(t *testing.T) {
	h := newTestHandler(&fakeStore{}, nil)
	for _, tc := range []struct {
		target, file, want string
	}{
		{"/api/v1/top?format=csv", "top.csv", "rank,tag,display,count,accounts\n1,nif2025,NIF2025,40,31\n2,nato,NATO,10,10\n"},
		{"/api/v1/trending?format=csv&window=1h", "trending.csv", "rank,tag,display,count,accounts,by,expected,score,history_windows,enough_history,top_account_share,top_instance_share,concentrated,bot_posts\n1,nif2025,NIF2025,40,31,accounts,1,39,24,true,0,0,false,0\n"},
		{"/api/v1/series?tag=otan&format=csv", "series.csv", "tag,display,hidden,time,end,count,accounts\notan,otan,false,2025-11-20T14:37:30Z,0001-01-01T00:00:00Z,1,0\n"},
		{"/api/v1/tags/OTAN?format=csv", "tag-otan.csv", "tag,post_id,created_at,source,lang,author,url,excerpt\notan,m:1,2025-11-20T14:37:30Z,mastodon,fr,'@a,https://social.example/1,'=1+1 #otan\n"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			rec := get(t, h, tc.target)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
				t.Errorf("Content-Type = %q, want text/csv", ct)
			}
			if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="`+tc.file+`"` {
				t.Errorf("Content-Disposition = %q, want an attachment named %s", cd, tc.file)
			}
			if rec.Body.String() != tc.want {
				t.Errorf("body:\n%s\nwant:\n%s", rec.Body, tc.want)
			}
		})
	}
	// A tag that is not plain ASCII keeps its name in the UTF-8 form, after
	// a plain fallback.
	rec := get(t, newTestHandler(&fakeStore{}, nil), "/api/v1/tags/%E5%AE%89%E5%85%A8%E4%BF%9D%E9%9A%9C?format=csv")
	if cd, want := rec.Header().Get("Content-Disposition"), `attachment; filename="tag-____.csv"; filename*=UTF-8''tag-%E5%AE%89%E5%85%A8%E4%BF%9D%E9%9A%9C.csv`; cd != want {
		t.Errorf("Content-Disposition = %q, want %q", cd, want)
	}
	// The same question in JSON is a different answer, not the cached CSV.
	if rec := get(t, h, "/api/v1/top?format=json"); !strings.HasPrefix(rec.Body.String(), "[") || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("format=json after format=csv: %s %q", rec.Header().Get("Content-Type"), rec.Body)
	}
	if rec := get(t, h, "/api/v1/top?format=xml"); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "want json or csv") {
		t.Errorf("format=xml: %d %s, want 400 naming json and csv", rec.Code, rec.Body)
	}
}

func TestFiltersEndpoint(t *testing.T) {
	rec := get(t, newTestHandler(&fakeStore{}, nil), "/api/v1/filters")
	if want := `{"sources":["mastodon","rss"],"langs":["en","fr"]}` + "\n"; rec.Code != http.StatusOK || rec.Body.String() != want {
		t.Errorf("filters: %d %s, want 200 %s", rec.Code, rec.Body, want)
	}
}
