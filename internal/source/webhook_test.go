package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"tagpulse/internal/post"
)

const testToken = "s3cret-token"

// recordingDeliver stands in for the runner: it checks items as the runner
// does (an item with an error fails the request) and records the rest.
type recordingDeliver struct {
	got  []post.Post
	fail error
}

func (d *recordingDeliver) deliver(_ context.Context, items []Item) error {
	for _, it := range items {
		if it.Err != nil {
			return it.Err
		}
	}
	if d.fail != nil {
		return d.fail
	}
	for _, it := range items {
		d.got = append(d.got, it.Post)
	}
	return nil
}

func TestWebhook(t *testing.T) {
	tests := []struct {
		name        string
		auth        string
		contentType string
		body        string
		deliverErr  error
		wantCode    int
		wantIDs     []string
		wantErrHas  string
	}{
		{name: "one post", auth: "Bearer " + testToken, body: `{"id":"w1","text":"#OTAN"}`, wantCode: 202, wantIDs: []string{"w1"}},
		{name: "array", auth: "bearer " + testToken, contentType: "application/json; charset=utf-8", body: `[{"id":"w1","text":"#a"},{"id":"w2","text":"#b","unknown":1}]`, wantCode: 202, wantIDs: []string{"w1", "w2"}},
		{name: "no token", body: `{"id":"w1","text":"#a"}`, wantCode: 401, wantErrHas: "bearer token"},
		{name: "wrong token", auth: "Bearer nope", body: `{"id":"w1","text":"#a"}`, wantCode: 401, wantErrHas: "bearer token"},
		{name: "token prefix", auth: "Bearer " + testToken[:4], body: `{"id":"w1","text":"#a"}`, wantCode: 401},
		{name: "basic auth", auth: "Basic " + testToken, body: `{"id":"w1","text":"#a"}`, wantCode: 401},
		{name: "not JSON content type", auth: "Bearer " + testToken, contentType: "text/plain", body: `{"id":"w1","text":"#a"}`, wantCode: 415, wantErrHas: "application/json"},
		{name: "too large", auth: "Bearer " + testToken, body: `{"id":"w1","text":"` + strings.Repeat("x", 300) + `"}`, wantCode: 413, wantErrHas: "256 bytes"},
		{name: "malformed", auth: "Bearer " + testToken, body: `{"id":`, wantCode: 400, wantErrHas: "invalid JSON"},
		{name: "wrong type names the field", auth: "Bearer " + testToken, body: `[{"id":"w1","text":"#a"},{"id":"w2","text":5}]`, wantCode: 400, wantErrHas: "post 1: field text"},
		{name: "missing text", auth: "Bearer " + testToken, body: `{"id":"w1"}`, wantCode: 400, wantErrHas: "field text: missing field"},
		{name: "empty array", auth: "Bearer " + testToken, body: `[]`, wantCode: 400},
		{name: "kafka down", auth: "Bearer " + testToken, body: `{"id":"w1","text":"#a"}`, deliverErr: errors.New("kafka: broker gone"), wantCode: 503, wantErrHas: "retry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &recordingDeliver{fail: tt.deliverErr}
			reg := prometheus.NewPedanticRegistry()
			hook, err := NewWebhook(WebhookConfig{Token: testToken, MaxBodyBytes: 256}, d.deliver, reg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(hook.Handler())
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+WebhookPath, strings.NewReader(tt.body))
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.wantCode)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("content type %q, want application/json", got)
			}
			if tt.wantCode != 202 {
				var e errorBody
				if err := json.Unmarshal(body, &e); err != nil || e.Error == "" || !strings.Contains(e.Error, tt.wantErrHas) {
					t.Errorf("error body %s, want {\"error\": …%s…}", body, tt.wantErrHas)
				}
				if strings.Contains(string(body), testToken) {
					t.Error("error body contains the token")
				}
				if len(d.got) != 0 {
					t.Errorf("delivered %d posts on a refused request", len(d.got))
				}
			} else {
				var a acceptedBody
				if err := json.Unmarshal(body, &a); err != nil || a.Accepted != len(tt.wantIDs) || strings.Join(a.IDs, ",") != strings.Join(tt.wantIDs, ",") {
					t.Errorf("accepted body %s, want ids %v", body, tt.wantIDs)
				}
				if len(d.got) != len(tt.wantIDs) || d.got[0].Source != "webhook" {
					t.Errorf("delivered %+v, want %d posts with source webhook", d.got, len(tt.wantIDs))
				}
			}
			if got := testutil.ToFloat64(hook.m.requests.WithLabelValues(fmt.Sprint(tt.wantCode))); got != 1 {
				t.Errorf("requests{code=%d} = %v, want 1", tt.wantCode, got)
			}
			if n := testutil.CollectAndCount(hook.m.requests); n != len(webhookCodes) {
				t.Errorf("%d code series, want %d pre-initialised", n, len(webhookCodes))
			}
		})
	}
}

func TestWebhookMethodAndToken(t *testing.T) {
	if _, err := NewWebhook(WebhookConfig{Token: "  "}, nil, prometheus.NewRegistry(), slog.New(slog.DiscardHandler)); !errors.Is(err, ErrNoToken) {
		t.Fatalf("NewWebhook without token: %v, want ErrNoToken", err)
	}
	hook, _ := NewWebhook(WebhookConfig{Token: testToken}, (&recordingDeliver{}).deliver, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	rec := httptest.NewRecorder()
	hook.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, WebhookPath, nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
		t.Errorf("GET: %d, Allow %q; want 405, POST", rec.Code, rec.Header().Get("Allow"))
	}
}
