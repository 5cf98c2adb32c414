package publish

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/metadata"
)

// topicMetadataMemo answers a kafka-go Writer's metadata requests for one
// topic from the last answer for up to ttl. The Writer asks its transport
// for the topic's metadata once per message, only to count the topic's
// partitions, and the transport's own cache still copies the cluster's
// topic list for each request: 5% of ingest's CPU. Everything else goes to
// the transport. A partition added to the topic is seen up to ttl later,
// well within the transport's own metadata TTL.
type topicMetadataMemo struct {
	kafka.RoundTripper
	ttl  time.Duration
	now  func() time.Time
	last atomic.Pointer[memoEntry]
}

type memoEntry struct {
	topic string
	auto  bool
	resp  kafka.Response
	at    time.Time
}

func (m *topicMetadataMemo) RoundTrip(ctx context.Context, addr net.Addr, req kafka.Request) (kafka.Response, error) {
	mr, ok := req.(*metadata.Request)
	if !ok || len(mr.TopicNames) != 1 {
		return m.RoundTripper.RoundTrip(ctx, addr, req)
	}
	topic, now := mr.TopicNames[0], m.now()
	if e := m.last.Load(); e != nil && e.topic == topic && e.auto == mr.AllowAutoTopicCreation && now.Sub(e.at) < m.ttl {
		return e.resp, nil
	}
	resp, err := m.RoundTripper.RoundTrip(ctx, addr, req)
	if err != nil {
		return resp, err
	}
	// Only an answer that names the topic without an error is kept: a
	// missing topic is asked again.
	if r, ok := resp.(*metadata.Response); ok && len(r.Topics) == 1 && r.Topics[0].Name == topic && r.Topics[0].ErrorCode == 0 {
		m.last.Store(&memoEntry{topic: topic, auto: mr.AllowAutoTopicCreation, resp: resp, at: now})
	}
	return resp, nil
}
