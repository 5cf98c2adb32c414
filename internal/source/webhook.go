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
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tagpulse/internal/post"
)

// DefaultWebhookMaxBody bounds one webhook request body.
const DefaultWebhookMaxBody = 1 << 20

// WebhookPath is where the webhook accepts posts.
const WebhookPath = "/v1/posts"

// Deliver publishes a webhook request's items, all or none. It returns an
// error wrapping one of post's reason errors when an item is invalid
// (nothing is published then), any other error when publishing failed.
type Deliver func(ctx context.Context, items []Item) error

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
// array of them, and answers 202 only once Deliver has published them.
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

// Handler returns a mux serving the webhook at WebhookPath.
func (w *Webhook) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(WebhookPath, w)
	return mux
}

// ServeHTTP implements http.Handler. The rate limit comes first, so a
// flood (or a token guesser) costs the least work possible.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if ok, wait := w.limiter.allow(r); !ok {
		secs := retryAfterSeconds(wait)
		rw.Header().Set("Retry-After", strconv.Itoa(secs))
		w.respond(rw, http.StatusTooManyRequests, errorBody{fmt.Sprintf("rate limit exceeded: retry after %d s", secs)})
		return
	}
	code, body := w.serve(r)
	w.respond(rw, code, body)
}

func (w *Webhook) respond(rw http.ResponseWriter, code int, body any) {
	w.m.requests.WithLabelValues(strconv.Itoa(code)).Inc()
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	switch code {
	case http.StatusUnauthorized:
		rw.Header().Set("WWW-Authenticate", `Bearer realm="tagpulse"`)
	case http.StatusMethodNotAllowed:
		rw.Header().Set("Allow", http.MethodPost)
	}
	rw.WriteHeader(code)
	_ = json.NewEncoder(rw).Encode(body)
}

type errorBody struct {
	Error string `json:"error"`
}

type acceptedBody struct {
	Accepted int      `json:"accepted"`
	IDs      []string `json:"ids"`
}

func (w *Webhook) serve(r *http.Request) (int, any) {
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, errorBody{"method not allowed: use POST"}
	}
	if !w.authorized(r.Header.Get("Authorization")) {
		return http.StatusUnauthorized, errorBody{"missing or wrong bearer token"}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return http.StatusUnsupportedMediaType, errorBody{"content type must be application/json"}
	}
	if r.ContentLength > w.cfg.MaxBodyBytes {
		return http.StatusRequestEntityTooLarge, errorBody{fmt.Sprintf("body over %d bytes", w.cfg.MaxBodyBytes)}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, w.cfg.MaxBodyBytes+1))
	if err != nil {
		return http.StatusBadRequest, errorBody{"reading body: " + err.Error()}
	}
	if int64(len(data)) > w.cfg.MaxBodyBytes {
		return http.StatusRequestEntityTooLarge, errorBody{fmt.Sprintf("body over %d bytes", w.cfg.MaxBodyBytes)}
	}
	items := w.decode(data)
	// The client is told 202 only once Kafka holds the posts. Publishing
	// goes on when the client hangs up or the server shuts down, so a post
	// is either acknowledged and stored, or not acknowledged.
	if err := w.deliver(context.WithoutCancel(r.Context()), items); err != nil {
		if post.Reason(err) != "other" {
			return http.StatusBadRequest, errorBody{err.Error()}
		}
		w.log.Error("webhook posts not published", "err", err)
		return http.StatusServiceUnavailable, errorBody{"posts not published, retry later"}
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.Post.ID
	}
	return http.StatusAccepted, acceptedBody{Accepted: len(items), IDs: ids}
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
