package publish

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/metadata"
	"github.com/segmentio/kafka-go/protocol/produce"
)

// countingTransport answers metadata requests with the topic (an error for
// "missing") and counts what reaches it.
type countingTransport struct{ calls int }

func (c *countingTransport) RoundTrip(_ context.Context, _ net.Addr, req kafka.Request) (kafka.Response, error) {
	c.calls++
	mr, ok := req.(*metadata.Request)
	if !ok {
		return &produce.Response{}, nil
	}
	if len(mr.TopicNames) != 1 {
		return &metadata.Response{}, nil
	}
	var code int16
	if mr.TopicNames[0] == "missing" {
		code = int16(kafka.UnknownTopicOrPartition)
	}
	return &metadata.Response{Topics: []metadata.ResponseTopic{{Name: mr.TopicNames[0], ErrorCode: code}}}, nil
}

func TestTopicMetadataMemo(t *testing.T) {
	type step struct {
		after time.Duration // clock advance before the request
		req   kafka.Request
		calls int // calls that reached the transport so far
	}
	meta := func(topic string, auto bool) kafka.Request {
		return &metadata.Request{TopicNames: []string{topic}, AllowAutoTopicCreation: auto}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"repeated within the ttl", []step{{0, meta("posts", false), 1}, {100 * time.Millisecond, meta("posts", false), 1}, {800 * time.Millisecond, meta("posts", false), 1}}},
		{"asked again after the ttl", []step{{0, meta("posts", false), 1}, {time.Second, meta("posts", false), 2}, {0, meta("posts", false), 2}}},
		{"another topic or setting", []step{{0, meta("posts", false), 1}, {0, meta("other", false), 2}, {0, meta("other", true), 3}}},
		{"an error is not kept", []step{{0, meta("missing", false), 1}, {0, meta("missing", false), 2}}},
		{"other requests pass", []step{{0, &produce.Request{}, 1}, {0, &produce.Request{}, 2}, {0, &metadata.Request{}, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1e9, 0)
			inner := &countingTransport{}
			memo := &topicMetadataMemo{RoundTripper: inner, ttl: time.Second, now: func() time.Time { return now }}
			for i, s := range tt.steps {
				now = now.Add(s.after)
				resp, err := memo.RoundTrip(context.Background(), nil, s.req)
				if err != nil || resp == nil {
					t.Fatalf("step %d: %v, %v", i, resp, err)
				}
				if inner.calls != s.calls {
					t.Fatalf("step %d: %d calls reached the transport, want %d", i, inner.calls, s.calls)
				}
				if mr, ok := s.req.(*metadata.Request); ok && len(mr.TopicNames) == 1 {
					if got := resp.(*metadata.Response).Topics[0].Name; got != mr.TopicNames[0] {
						t.Fatalf("step %d: answer for topic %q, asked %q", i, got, mr.TopicNames[0])
					}
				}
			}
		})
	}
}
