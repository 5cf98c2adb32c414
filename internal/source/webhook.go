package source

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tagpulse/internal/post"
)

// DefaultWebhookMaxBody bounds one webhook request body.
const DefaultWebhookMaxBody = 1 << 20

// WebhookPath is where the webhook accepts posts (POST), and under which
// it deletes one (DELETE WebhookPath/ID).
const WebhookPath = "/v1/posts"

// Deliver publishes a webhook request's items, all or none. It returns an
// error wrapping one of post's reason errors when an item is invalid
// (nothing is published then), any other error when publishing failed,
// and the valid posts it deliberately did not publish.
type Deliver func(ctx context.Context, items []Item) ([]Skipped, error)

// Skipped is a valid post that was not published, and why: it is not
// public, or its account or instance is excluded (ingest.SkipReasons).
type Skipped struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// WebhookConfig configures the webhook.
type WebhookConfig struct {
	// Token is the bearer token clients must send; the webhook refuses to
	// start without one.
	Token string
	// MaxBodyBytes bounds a request body; DefaultWebhookMaxBody when 0.
	MaxBodyBytes int64
	// MaxTextBytes bounds the text of each post; post.MaxTextBytes when 0.
	MaxTextBytes int
	// RateLimit is how many requests a second one client (one remote
	// address) may make on average, RateBurst how many in a row; beyond
	// that it is answered 429 with Retry-After. 0 means no limit.
	RateLimit float64
	RateBurst int
	// Now gives created_at for posts without one; time.Now when nil.
	Now func() time.Time
}

// Webhook accepts posts pushed to POST /v1/posts, one JSON object or an
// array of them (tombstones, {"id":…,"deleted":true}, included), and
// deletions as DELETE /v1/posts/ID, and answers 202 only once Deliver has
// published them.
type Webhook struct {
	cfg     WebhookConfig
	token   [sha256.Size]byte
	deliver Deliver
	log     *slog.Logger
	m       *webhookMetrics
	limiter *clientLimiter
}

// ErrNoToken is returned by NewWebhook without a token: an open webhook
// would let anyone write into the pipeline.
var ErrNoToken = errors.New("webhook: no bearer token (set INGEST_WEBHOOK_TOKEN)")

// NewWebhook returns the webhook handler.
func NewWebhook(cfg WebhookConfig, deliver Deliver, reg prometheus.Registerer, log *slog.Logger) (*Webhook, error) {
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, ErrNoToken
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultWebhookMaxBody
	}
	if cfg.MaxTextBytes <= 0 {
		cfg.MaxTextBytes = post.MaxTextBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Webhook{
		cfg: cfg,
		// Comparing fixed-size digests keeps the comparison constant-time
		// in the token's length too.
		token:   sha256.Sum256([]byte(cfg.Token)),
		deliver: deliver,
		log:     log,
		m:       newWebhookMetrics(reg),
		limiter: newClientLimiter(cfg.RateLimit, cfg.RateBurst, cfg.Now),
	}, nil
}

// Handler returns the handler of the webhook: WebhookPath and the paths
// under it; any other path is not found. It routes on the escaped path
// itself, not through http.ServeMux, which would redirect a post id
// holding "//" (a URL) to another path.
func (w *Webhook) Handler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if p := r.URL.EscapedPath(); p == WebhookPath || strings.HasPrefix(p, WebhookPath+"/") {
			w.ServeHTTP(rw, r)
			return
		}
		http.NotFound(rw, r)
	})
}

// ServeHTTP implements http.Handler. The rate limit comes first, so a
// flood (or a token guesser) costs the least work possible.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if ok, wait := w.limiter.allow(r); !ok {
		secs := retryAfterSeconds(wait)
		rw.Header().Set("Retry-After", strconv.Itoa(secs))
		w.respond(rw, webhookAnswer{http.StatusTooManyRequests, errorBody{fmt.Sprintf("rate limit exceeded: retry after %d s", secs)}, ""})
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.EscapedPath(), WebhookPath+"/"); ok {
		w.respond(rw, w.serveDelete(r, rest))
		return
	}
	w.respond(rw, w.serve(r))
}

// webhookAnswer is what the webhook answers: a status, a JSON body and, for
// 405, the method the path allows.
type webhookAnswer struct {
	code  int
	body  any
	allow string
}

func (w *Webhook) respond(rw http.ResponseWriter, resp webhookAnswer) {
	w.m.requests.WithLabelValues(strconv.Itoa(resp.code)).Inc()
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	switch resp.code {
	case http.StatusUnauthorized:
		rw.Header().Set("WWW-Authenticate", `Bearer realm="tagpulse"`)
	case http.StatusMethodNotAllowed:
		rw.Header().Set("Allow", resp.allow)
	}
	rw.WriteHeader(resp.code)
	_ = json.NewEncoder(rw).Encode(resp.body)
}

func fail(code int, format string, args ...any) webhookAnswer {
	return webhookAnswer{code: code, body: errorBody{fmt.Sprintf(format, args...)}}
}

type errorBody struct {
	Error string `json:"error"`
}

// acceptedBody answers 202: the ids published (posts and tombstones), and
// the valid posts that were not, with their reason.
type acceptedBody struct {
	Accepted int       `json:"accepted"`
	IDs      []string  `json:"ids"`
	Skipped  []Skipped `json:"skipped,omitempty"`
}

func (w *Webhook) serve(r *http.Request) webhookAnswer {
	if r.Method != http.MethodPost {
		return webhookAnswer{http.StatusMethodNotAllowed, errorBody{"method not allowed: POST posts to " + WebhookPath + ", DELETE one at " + WebhookPath + "/ID"}, http.MethodPost}
	}
	if !w.authorized(r.Header.Get("Authorization")) {
		return fail(http.StatusUnauthorized, "missing or wrong bearer token")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return fail(http.StatusUnsupportedMediaType, "content type must be application/json")
	}
	if r.ContentLength > w.cfg.MaxBodyBytes {
		return fail(http.StatusRequestEntityTooLarge, "body over %d bytes", w.cfg.MaxBodyBytes)
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, w.cfg.MaxBodyBytes+1))
	if err != nil {
		return fail(http.StatusBadRequest, "reading body: %v", err)
	}
	if int64(len(data)) > w.cfg.MaxBodyBytes {
		return fail(http.StatusRequestEntityTooLarge, "body over %d bytes", w.cfg.MaxBodyBytes)
	}
	return w.publish(r.Context(), w.decode(data))
}

// serveDelete serves DELETE /v1/posts/ID (rawID is the escaped ID): the
// tombstone of that post, with the post's created_at when the query gives
// it (?created_at=RFC 3339). The id is the post's, percent-encoded as a
// path segment; slashes may be left as they are.
func (w *Webhook) serveDelete(r *http.Request, rawID string) webhookAnswer {
	if r.Method != http.MethodDelete {
		return webhookAnswer{http.StatusMethodNotAllowed, errorBody{"method not allowed: DELETE " + WebhookPath + "/ID deletes a post; POST posts to " + WebhookPath}, http.MethodDelete}
	}
	if !w.authorized(r.Header.Get("Authorization")) {
		return fail(http.StatusUnauthorized, "missing or wrong bearer token")
	}
	if r.ContentLength > 0 {
		return fail(http.StatusBadRequest, "DELETE takes no body: the post id is in the path: %v", post.ErrInvalidValue)
	}
	if len(rawID) > 3*post.MaxIDBytes { // a percent escape is 3 bytes
		return fail(http.StatusBadRequest, "field id: over %d bytes: %v", post.MaxIDBytes, post.ErrTooLarge)
	}
	id, err := url.PathUnescape(rawID)
	if err != nil {
		return fail(http.StatusBadRequest, "field id: not a percent-encoded path segment: %v", post.ErrInvalidValue)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fail(http.StatusBadRequest, "query: %v: %v", err, post.ErrInvalidValue)
	}
	for k := range q {
		if k != "created_at" {
			return fail(http.StatusBadRequest, "query parameter %q: only created_at (the post's own, RFC 3339) is read: %v", k, post.ErrInvalidValue)
		}
	}
	var created time.Time
	if v := q.Get("created_at"); v != "" {
		if created, err = post.ParseCreatedAt(v); err != nil {
			return fail(http.StatusBadRequest, "%v", err)
		}
	}
	t := post.Tombstone(id, created)
	t.Source = KindWebhook
	// Not ValidUTF8: the runner checks the id.
	return w.publish(r.Context(), []Item{{Post: t}})
}

// publish delivers a request's items and says how it went. The client is
// told 202 only once Kafka holds the posts. Publishing goes on when the
// client hangs up or the server shuts down, so a post is either
// acknowledged and stored, or not acknowledged.
func (w *Webhook) publish(ctx context.Context, items []Item) webhookAnswer {
	skipped, err := w.deliver(context.WithoutCancel(ctx), items)
	if err != nil {
		if post.Reason(err) != "other" {
			return fail(http.StatusBadRequest, "%s", err)
		}
		w.log.Error("webhook posts not published", "err", err)
		return fail(http.StatusServiceUnavailable, "posts not published, retry later")
	}
	notPublished := make(map[string]bool, len(skipped))
	for _, s := range skipped {
		notPublished[s.ID] = true
	}
	ids := make([]string, 0, len(items))
	for _, it := range items {
		if !notPublished[it.Post.ID] {
			ids = append(ids, it.Post.ID)
		}
	}
	return webhookAnswer{code: http.StatusAccepted, body: acceptedBody{Accepted: len(ids), IDs: ids, Skipped: skipped}}
}

func (w *Webhook) authorized(header string) bool {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], w.token[:]) == 1
}

// decode turns a body holding one post or an array of posts into items; a
// body that is neither is one rejected item.
func (w *Webhook) decode(data []byte) []Item {
	opt := post.DecodeOptions{MaxTextBytes: w.cfg.MaxTextBytes, Now: w.cfg.Now}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return []Item{w.decodeOne(trimmed, opt, -1)}
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(trimmed, &raws); err != nil {
		return []Item{{Err: fmt.Errorf("body is not a JSON array of posts: %w", post.ErrInvalidJSON)}}
	}
	if len(raws) == 0 {
		return []Item{{Err: fmt.Errorf("empty array: %w", post.ErrMissingField)}}
	}
	items := make([]Item, len(raws))
	for i, raw := range raws {
		items[i] = w.decodeOne(raw, opt, i)
	}
	return items
}

func (w *Webhook) decodeOne(raw []byte, opt post.DecodeOptions, index int) Item {
	p, err := post.DecodePost(raw, opt)
	if err != nil {
		if index >= 0 {
			err = fmt.Errorf("post %d: %w", index, err)
		}
		return Item{Err: err}
	}
	if p.Source == "" {
		p.Source = KindWebhook
	}
	return Item{Post: p, ValidUTF8: true}
}
