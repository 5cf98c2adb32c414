package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestTopicEdits(t *testing.T) {
	big := `{"tags": ["` + strings.Repeat("a", maxTopicBody) + `"]}`
	for _, tc := range []struct {
		name, method, target, token, body string
		noToken                           bool // the server has no admin token
		code                              int
		want                              string
	}{
		{"set", "PUT", "/api/v1/topics/nato", testAdminToken, `{"tags": ["NATO", "otan"], "by": "alice"}`, false, 200, `"added":true`},
		{"edits off", "PUT", "/api/v1/topics/nato", testAdminToken, `{"tags": ["nato"]}`, true, 403, "--api-admin-token"},
		{"no token", "PUT", "/api/v1/topics/nato", "", `{"tags": ["nato"]}`, false, 401, "Bearer"},
		{"wrong token", "DELETE", "/api/v1/topics/nato", "guess", "", false, 401, "Bearer"},
		{"bad name", "PUT", "/api/v1/topics/NATO", testAdminToken, `{"tags": ["nato"]}`, false, 400, "topic name"},
		{"unknown field", "PUT", "/api/v1/topics/nato", testAdminToken, `{"tag": ["nato"]}`, false, 400, "body"},
		{"two objects", "PUT", "/api/v1/topics/nato", testAdminToken, `{"tags": ["nato"]} {}`, false, 400, "one JSON object"},
		{"too big", "PUT", "/api/v1/topics/nato", testAdminToken, big, false, 400, "at most 65536 bytes"},
		{"delete", "DELETE", "/api/v1/topics/nato", testAdminToken, "", false, 200, `"tag":"otan","added":false`},
		{"delete absent", "DELETE", "/api/v1/topics/eu", testAdminToken, "", false, 404, "no such topic"},
		{"get is not an edit", "GET", "/api/v1/topics/nato", testAdminToken, "", false, 405, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topics := &fakeTopics{}
			h := newTestHandlerTopics(&fakeStore{}, nil, topics)
			if tc.noToken {
				h = NewHandler(Options{Store: &fakeStore{}, Topics: topics, Config: Config{AllowedHosts: []string{"example.com"}}})
			}
			req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("%s %s: %d %s, want %d with %q", tc.method, tc.target, rec.Code, rec.Body, tc.code, tc.want)
			}
			if tc.code != http.StatusOK && (topics.set != nil || topics.deleted != nil) {
				t.Fatalf("a refused edit reached the store: %+v", topics)
			}
		})
	}
}

func TestTopicReadsParameters(t *testing.T) {
	store := &fakeStore{}
	h := newTestHandler(store, nil)
	rec := get(t, h, "/api/v1/topics")
	var list []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != 200 || list[0]["topic"] != "nato" {
		t.Fatalf("GET /api/v1/topics: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, h, "/api/v1/topics?format=csv"); rec.Code != 200 || rec.Body.String() != "topic,tag\nnato,nato\nnato,otan\n" ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
		t.Errorf("GET /api/v1/topics?format=csv: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	for _, target := range []string{"/api/v1/top?topics=true", "/api/v1/trending?topics=true"} {
		store.query.Topics = false
		if rec := get(t, h, target); rec.Code != 200 || !store.query.Topics {
			t.Errorf("%s: %d, query %+v; want topics counted", target, rec.Code, store.query)
		}
	}
	if rec := get(t, h, "/api/v1/top?topics=yes"); rec.Code != 400 {
		t.Errorf("topics=yes: %d, want 400", rec.Code)
	}
	if rec := get(t, h, "/api/v1/series?topic=nato"); rec.Code != 200 || !store.series.Topics || !reflect.DeepEqual(store.series.Tags, []string{"nato"}) {
		t.Errorf("series?topic=nato: %d, query %+v", rec.Code, store.series)
	}
	if rec := get(t, h, "/api/v1/series?topic=NATO"); rec.Code != 400 {
		t.Errorf("series?topic=NATO: %d, want 400 (a topic name is lower case)", rec.Code)
	}
}
