package aggregator

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestFirstPassAndRepublish(t *testing.T) {
	s := newStack(t, 6)
	posts := genPosts("p", 3000, time.Now(), 1)
	publish(t, s.kafka, posts)

	m := runCaughtUp(t, s, testConfig(s.kafka.Topic+"-group"))
	assertCounts(t, s.conn, posts)
	if got := testutil.ToFloat64(m.MessagesConsumed); got != 3000 {
		t.Errorf("messages consumed: got %v, want 3000", got)
	}

	// The same posts again, as a second `ingest file` of the same files
	// publishes them: every count stays as it was.
	publish(t, s.kafka, posts)
	m = runCaughtUp(t, s, testConfig(s.kafka.Topic+"-group"))
	if got := testutil.ToFloat64(m.MessagesConsumed); got != 3000 {
		t.Errorf("messages consumed on the second pass: got %v, want 3000 (only the new copies)", got)
	}
	assertCounts(t, s.conn, posts)
}
