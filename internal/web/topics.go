package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"tagpulse/internal/topic"
)

// TopicStore keeps the topics; *topic.Store is the real one.
type TopicStore interface {
	List(ctx context.Context) ([]topic.Topic, error)
	Set(ctx context.Context, name, by string, tags []string) ([]topic.Change, error)
	Delete(ctx context.Context, name, by string) ([]string, error)
}

// maxTopicBody bounds the body of PUT /api/v1/topics/{name}: a topic has
// at most topic.MaxTags tags of at most 256 bytes.
const maxTopicBody = 64 << 10

// topicEditPath is the path of the state-changing topic endpoints.
const topicEditPath = "/api/v1/topics/{name}"

// TopicEdit is the body of PUT /api/v1/topics/{name}: the topic's tags
// from now on, and who edits (kept with each tag; "api" when empty).
type TopicEdit struct {
	Tags []string `json:"tags"`
	By   string   `json:"by"`
}

// TopicEdited is the answer to an edit: the tags added and removed.
type TopicEdited struct {
	Topic   string         `json:"topic"`
	Changes []topic.Change `json:"changes"`
}

func (h *handler) topics(params) (question, error) {
	return question{key: "topics", run: func(ctx context.Context) (any, error) {
		if h.topicStore == nil {
			return nil, errNoTopics
		}
		return h.topicStore.List(ctx)
	}}, nil
}

// errNoTopics is the answer of the topic endpoints of a handler built
// without a TopicStore.
var errNoTopics = errors.New("this server keeps no topics")

// editTopic serves PUT (set the topic's tags) and DELETE (remove the
// topic) on topicEditPath. Both need the admin token as a bearer token:
// without a token configured they are off (403); with a wrong or missing
// one they answer 401. A successful edit forgets the cached answers, whose
// topic counts it changed.
func (h *handler) editTopic(w http.ResponseWriter, r *http.Request) {
	if !h.authorised(w, r) {
		return
	}
	if h.topicStore == nil {
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: errNoTopics.Error()})
		return
	}
	name := r.PathValue("name")
	var (
		out TopicEdited
		err error
	)
	out.Topic = name
	switch r.Method {
	case http.MethodPut:
		var edit TopicEdit
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTopicBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&edit); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("body: want {\"tags\": [...], \"by\": \"...\"} of at most %d bytes: %v", maxTopicBody, err)})
			return
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: "body: one JSON object only"})
			return
		}
		out.Changes, err = h.topicStore.Set(r.Context(), name, editor(edit.By), edit.Tags)
	case http.MethodDelete:
		var removed []string
		removed, err = h.topicStore.Delete(r.Context(), name, editor(r.URL.Query().Get("by")))
		for _, tag := range removed {
			out.Changes = append(out.Changes, topic.Change{Topic: name, Tag: tag})
		}
	}
	switch {
	case err == nil:
		if out.Changes == nil {
			out.Changes = []topic.Change{}
		}
		h.answers.forget()
		writeJSON(w, http.StatusOK, out)
	case errors.Is(err, topic.ErrInvalid):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
	case errors.Is(err, topic.ErrNotFound):
		writeJSON(w, http.StatusNotFound, errorBody{Error: err.Error()})
	default:
		h.log.Error("topic edit", "topic", name, "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error; see the server log"})
	}
}

// editor is who an API edit is recorded as.
func editor(by string) string {
	if by = strings.TrimSpace(by); by == "" || len(by) > 100 {
		return "api"
	}
	return by
}

// authorised checks the request's bearer token against the admin token in
// constant time, answering 403 or 401 itself when it fails.
func (h *handler) authorised(w http.ResponseWriter, r *http.Request) bool {
	if h.adminToken == "" {
		writeJSON(w, http.StatusForbidden, errorBody{Error: "editing over the API is off: its operator can turn it on with --api-admin-token (AGGREGATE_API_ADMIN_TOKEN)"})
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(h.adminToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tagpulse"`)
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "want the admin token as Authorization: Bearer TOKEN"})
		return false
	}
	return true
}
