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
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"tagpulse/internal/post"
)

const testToken = "s3cret-token"

// recordingDeliver stands in for the runner: it checks items as the runner
// does (an item with an error, or a post without id, fails the request),
// skips the posts that are not public, and records the rest.
type recordingDeliver struct {
	got  []post.Post
	fail error
}

func (d *recordingDeliver) deliver(_ context.Context, items []Item) ([]Skipped, error) {
	for _, it := range items {
		if it.Err != nil {
			return nil, it.Err
		}
		if err := it.Post.Validate(post.MaxTextBytes); err != nil {
			return nil, err
		}
	}
	if d.fail != nil {
		return nil, d.fail
	}
	var skipped []Skipped
	for _, it := range items {
		if !it.Post.IsPublic() {
			skipped = append(skipped, Skipped{ID: it.Post.ID, Reason: "not_public"})
			continue
		}
		d.got = append(d.got, it.Post)
	}
	return skipped, nil
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
		{name: "tombstone", auth: "Bearer " + testToken, body: `{"id":"w1","deleted":true}`, wantCode: 202, wantIDs: []string{"w1"}},
		{name: "tombstones and posts", auth: "Bearer " + testToken, body: `[{"id":"w1","deleted":true,"created_at":"2025-11-06T10:00:00Z"},{"id":"w2","text":"#b"}]`, wantCode: 202, wantIDs: []string{"w1", "w2"}},
		{name: "tombstone without id", auth: "Bearer " + testToken, body: `{"deleted":true}`, wantCode: 400, wantErrHas: "field id: missing field"},
		{name: "not public: accepted, not published", auth: "Bearer " + testToken, body: `[{"id":"w1","text":"#a"},{"id":"w2","text":"#b","visibility":"unlisted"}]`, wantCode: 202, wantIDs: []string{"w1"}},
		{name: "unknown visibility", auth: "Bearer " + testToken, body: `{"id":"w1","text":"#a","visibility":"friends"}`, wantCode: 400, wantErrHas: "field visibility"},
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
				if strings.Contains(tt.body, "unlisted") && (len(a.Skipped) != 1 || a.Skipped[0] != (Skipped{"w2", "not_public"})) {
					t.Errorf("accepted body %s, want w2 skipped as not_public", body)
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
	for _, tt := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{http.MethodGet, WebhookPath, 405, "POST"},
		{http.MethodDelete, WebhookPath, 405, "POST"},
		{http.MethodPost, WebhookPath + "/w1", 405, "DELETE"},
		{http.MethodGet, WebhookPath + "/w1", 405, "DELETE"},
		{http.MethodPost, "/v1/other", 404, ""},
		{http.MethodDelete, "/v1/postsx/w1", 404, ""},
	} {
		rec := httptest.NewRecorder()
		hook.Handler().ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.code || rec.Header().Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d, Allow %q; want %d, %q", tt.method, tt.path, rec.Code, rec.Header().Get("Allow"), tt.code, tt.allow)
		}
	}
}

// DELETE /v1/posts/ID publishes the tombstone of that post, with the same
// token as POST and bounded, clear refusals.
func TestWebhookDelete(t *testing.T) {
	long := strings.Repeat("x", post.MaxIDBytes+1)
	tests := []struct {
		name       string
		auth       string
		path       string // after WebhookPath
		body       string
		deliverErr error
		wantCode   int
		wantID     string
		wantTime   string // the tombstone's created_at, RFC 3339; "" for none
		wantErrHas string
	}{
		{name: "plain id", path: "/w1", wantCode: 202, wantID: "w1"},
		{name: "escaped URL id", path: "/" + url.PathEscape("mastodon:https://social.example/users/ann/statuses/1"), wantCode: 202, wantID: "mastodon:https://social.example/users/ann/statuses/1"},
		{name: "unescaped slashes", path: "/bluesky:at://did:plc:ann/app.bsky.feed.post/3m4", wantCode: 202, wantID: "bluesky:at://did:plc:ann/app.bsky.feed.post/3m4"},
		{name: "with the post's time", path: "/w1?created_at=2025-11-06T10:00:00Z", wantCode: 202, wantID: "w1", wantTime: "2025-11-06T10:00:00Z"},
		{name: "no token", auth: "-", path: "/w1", wantCode: 401, wantErrHas: "bearer token"},
		{name: "wrong token", auth: "Bearer nope", path: "/w1", wantCode: 401, wantErrHas: "bearer token"},
		{name: "no id", path: "/", wantCode: 400, wantErrHas: "field id: missing field"},
		{name: "blank id", path: "/%20", wantCode: 400, wantErrHas: "field id: missing field"},
		{name: "id too long", path: "/" + long, wantCode: 400, wantErrHas: "field id"},
		{name: "id far too long", path: "/" + long + long + long + long, wantCode: 400, wantErrHas: "too large"},
		{name: "id not UTF-8", path: "/w%ff", wantCode: 400, wantErrHas: "invalid UTF-8"},
		{name: "bad created_at", path: "/w1?created_at=yesterday", wantCode: 400, wantErrHas: "RFC 3339"},
		{name: "other query", path: "/w1?hard=true", wantCode: 400, wantErrHas: "hard"},
		{name: "a body", path: "/w1", body: `{"id":"w1"}`, wantCode: 400, wantErrHas: "no body"},
		{name: "kafka down", path: "/w1", deliverErr: errors.New("kafka: broker gone"), wantCode: 503, wantErrHas: "retry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &recordingDeliver{fail: tt.deliverErr}
			hook, err := NewWebhook(WebhookConfig{Token: testToken}, func(ctx context.Context, items []Item) ([]Skipped, error) {
				// As the runner: an id must be valid UTF-8.
				for _, it := range items {
					if !utf8.ValidString(it.Post.ID) {
						return nil, fmt.Errorf("field id: %w", post.ErrInvalidUTF8)
					}
				}
				return d.deliver(ctx, items)
			}, prometheus.NewPedanticRegistry(), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(hook.Handler())
			defer srv.Close()
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequest(http.MethodDelete, srv.URL+WebhookPath+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			switch tt.auth {
			case "":
				req.Header.Set("Authorization", "Bearer "+testToken)
			case "-":
			default:
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantCode || !strings.Contains(string(got), tt.wantErrHas) {
				t.Fatalf("HTTP %d %s; want %d saying %q", resp.StatusCode, got, tt.wantCode, tt.wantErrHas)
			}
			if tt.wantCode != 202 {
				if len(d.got) != 0 {
					t.Errorf("delivered %+v on a refused request", d.got)
				}
				return
			}
			var a acceptedBody
			if err := json.Unmarshal(got, &a); err != nil || a.Accepted != 1 || len(a.IDs) != 1 || a.IDs[0] != tt.wantID {
				t.Errorf("accepted body %s, want id %q", got, tt.wantID)
			}
			want := post.Tombstone(tt.wantID, time.Time{})
			if tt.wantTime != "" {
				want.CreatedAt, _ = time.Parse(time.RFC3339, tt.wantTime)
			}
			want.Source = KindWebhook
			if len(d.got) != 1 || !reflect.DeepEqual(d.got[0], want) {
				t.Errorf("delivered %+v, want the tombstone %+v", d.got, want)
			}
		})
	}
}
