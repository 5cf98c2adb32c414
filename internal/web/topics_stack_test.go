package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/rollup"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/topic"
	"tagpulse/internal/trend"
	"tagpulse/internal/trend/trendtest"
)

// TestTopicAPIOnClickHouse defines a topic over the API and reads it back
// through top, series and the tag page, on a real database: an edit
// changes the counts (and the cached answers) at once.
func TestTopicAPIOnClickHouse(t *testing.T) {
	t.Parallel()
	_, conn := stacktest.MigratedClickHouse(t)
	now := time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC)
	trendtest.Insert(t, conn, trendtest.NewStory(now.Truncate(time.Minute).Add(time.Minute)).Mentions)
	h := NewHandler(Options{Store: trend.NewStore(conn, trend.DefaultParams()), Topics: topic.NewStore(conn, rollup.MarkTopics),
		Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now },
		Config: Config{AllowedHosts: []string{"example.com"}, AdminToken: testAdminToken, CacheTTL: time.Minute}})
	edit := func(method, body string) {
		t.Helper()
		req := httptest.NewRequest(method, "/api/v1/topics/alliance", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s /api/v1/topics/alliance: %d %s", method, rec.Code, rec.Body)
		}
	}
	top := func() []trend.Count {
		t.Helper()
		rec := get(t, h, "/api/v1/top?topics=true")
		var out []trend.Count
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("top?topics=true: %d %s", rec.Code, rec.Body)
		}
		return out
	}
	if got := top(); len(got) != 0 {
		t.Fatalf("top?topics=true before any topic = %+v", got)
	}
	// In the story's last hour #NATO has 10 posts and #OTAN 2.
	edit("PUT", `{"tags": ["#NATO", "OTAN"], "by": "alice"}`)
	if got := top(); len(got) != 1 || got[0].Topic != "alliance" || got[0].Count != 12 || len(got[0].Members) != 2 {
		t.Fatalf("top?topics=true = %+v, want alliance with 12 posts and 2 members", got)
	}
	rec := get(t, h, "/api/v1/series?topic=alliance&window=2h&step=1h")
	if !strings.Contains(rec.Body.String(), `"topic":"alliance"`) || !strings.Contains(rec.Body.String(), `"count":12`) {
		t.Errorf("series?topic=alliance: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, h, "/api/v1/tags/otan"); !strings.Contains(rec.Body.String(), `"topics":["alliance"]`) {
		t.Errorf("the tag page of otan: %d %s, want topics alliance", rec.Code, rec.Body)
	}
	edit("PUT", `{"tags": ["nato"]}`)
	if got := top(); len(got) != 1 || got[0].Count != 10 {
		t.Fatalf("top?topics=true after otan left the topic = %+v, want 10 posts (the cache forgotten)", got)
	}
	edit("DELETE", "")
	if rec := get(t, h, "/api/v1/topics"); strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Errorf("topics after the delete: %s", rec.Body)
	}
}
