package ingest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tagpulse/internal/post"
	"tagpulse/internal/source"
)

// TestWebhookRefusesPostsThatWouldNotCount sends the webhook, wired to a
// runner as `ingest run` wires it, the posts it used to acknowledge with
// 202 although they were never counted (dead-lettered later, dated at
// ingestion, or changed): each is now refused at the door with 400 and a
// reason, and nothing is published.
func TestWebhookRefusesPostsThatWouldNotCount(t *testing.T) {
	now := time.Now().UTC()
	tests := []struct {
		name   string
		body   string
		code   int
		errHas string
		tags   string // the tags published, when the post is
	}{
		{"year 9999", `{"id":"a","text":"#x","created_at":"9999-12-31T00:00:00Z"}`, 400, "in the future", ""},
		{"year 2100", `{"id":"a","text":"#x","created_at":"2100-01-01T00:00:00Z"}`, 400, "in the future", ""},
		{"year 1", `{"id":"a","text":"#x","created_at":"0001-01-02T00:00:00Z"}`, 400, "before 2000", ""},
		{"Go's zero time", `{"id":"a","text":"#x","created_at":"0001-01-01T00:00:00Z"}`, 400, "before 2000", ""},
		{"lone surrogate", `{"id":"a","text":"#x \ud800"}`, 400, "surrogate", ""},
		{"one bad post refuses the request", `[{"id":"a","text":"#x"},{"id":"b","text":"#y","created_at":"9999-01-01T00:00:00Z"}]`, 400, `post "b": field created_at`, ""},
		{"now", `{"id":"a","text":"#x","created_at":"` + now.Format(time.RFC3339) + `"}`, 202, "", "x"},
		{"no date: the time of ingestion", `{"id":"a","text":"#x"}`, 202, "", "x"},
		{"a producer's hashtags are merged", `{"id":"a","text":"#Otan news","hashtags":["#otan","Réarmement","＃Ｘ"]}`, 202, "", "otan rearmement x"},
		{"a producer's hashtag with a space", `{"id":"a","text":"#x","hashtags":["two words"]}`, 400, "field hashtags[0]", ""},
		{"a producer's hashtags not strings", `{"id":"a","text":"#x","hashtags":[{"tag":"x"}]}`, 400, "field hashtags", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, srv := newTestWebhook(t)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+source.WebhookPath, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer tok")
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var e struct{ Error string }
			_ = json.Unmarshal(body, &e)
			if resp.StatusCode != tt.code || !strings.Contains(e.Error, tt.errHas) {
				t.Fatalf("HTTP %d %s; want %d saying %q", resp.StatusCode, body, tt.code, tt.errHas)
			}
			if published := len(pub.got); (tt.code == 202) != (published > 0) {
				t.Errorf("%d posts published after HTTP %d", published, tt.code)
			}
			if tt.code == 202 {
				var tags []string
				for _, h := range pub.got[0].Hashtags {
					tags = append(tags, h.Tag)
				}
				if got := strings.Join(tags, " "); got != tt.tags {
					t.Errorf("published tags %q, want %q", got, tt.tags)
				}
				// The message keeps the producer's tags apart, for a rebuild
				// to merge them again.
				m := pub.got[0]
				again, _ := post.AppendHashtags(nil, m.Text, m.ProducerTags)
				if !reflect.DeepEqual(again, m.Hashtags) {
					t.Errorf("extracting again from the message gives %v, want %v (producer tags %q)", again, m.Hashtags, m.ProducerTags)
				}
			}
		})
	}
}

// DELETE /v1/posts/ID, wired to a runner as `ingest run` wires it,
// publishes the tombstone of that post: its id, no tags, no created_at
// unless the query gives the post's own.
func TestWebhookDeleteThroughRunner(t *testing.T) {
	tests := []struct {
		name, path string
		want       post.Message
	}{
		{"id only", "/w1", post.Message{Post: post.Post{ID: "w1", Deleted: true, Source: "webhook"}, Hashtags: []post.Hashtag{}, ExtractorVersion: Hashtags.Version}},
		{"with the post's time", "/mastodon:https:%2F%2Fsocial.example%2Fusers%2Fann%2Fstatuses%2F1?created_at=2025-11-06T10:00:00%2B01:00",
			post.Message{Post: post.Post{ID: "mastodon:https://social.example/users/ann/statuses/1", Deleted: true, Source: "webhook",
				CreatedAt: time.Date(2025, 11, 6, 10, 0, 0, 0, time.FixedZone("", 3600))}, Hashtags: []post.Hashtag{}, ExtractorVersion: Hashtags.Version}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, srv := newTestWebhook(t)
			req, _ := http.NewRequest(http.MethodDelete, srv.URL+source.WebhookPath+tt.path, nil)
			req.Header.Set("Authorization", "Bearer tok")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("HTTP %d %s, want 202", resp.StatusCode, body)
			}
			if len(pub.got) != 1 {
				t.Fatalf("published %d messages, want the tombstone", len(pub.got))
			}
			got := pub.got[0]
			if !got.CreatedAt.Equal(tt.want.CreatedAt) {
				t.Errorf("created_at %v, want %v", got.CreatedAt, tt.want.CreatedAt)
			}
			got.CreatedAt, tt.want.CreatedAt = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("published %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// newTestWebhook serves the webhook (token "tok") in front of a runner
// that publishes to the fake publisher it returns; the server is closed
// when the test ends.
func newTestWebhook(t *testing.T) (*fakePublisher, *httptest.Server) {
	t.Helper()
	pub := &fakePublisher{}
	r := New(DefaultConfig(), pub, Hashtags, prometheus.NewPedanticRegistry(), slog.New(slog.DiscardHandler))
	hook, err := source.NewWebhook(source.WebhookConfig{Token: "tok"},
		func(ctx context.Context, items []source.Item) ([]source.Skipped, error) {
			return r.Deliver(ctx, source.KindWebhook, items)
		},
		prometheus.NewPedanticRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hook.Handler())
	t.Cleanup(srv.Close)
	return pub, srv
}
