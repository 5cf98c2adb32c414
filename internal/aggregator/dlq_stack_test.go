package aggregator

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"tagpulse/internal/post"
	"tagpulse/internal/testkit/stacktest"
)

// testDLQReplay follows TestPoisonGoesToDLQ: the dead-letter topic holds
// nPoison messages that do not decode. dlq replay must not pass over them:
// it fails, naming them, and reads them again on its next run, until
// --skip-poison; a message that decodes now is re-fed and counted once.
func testDLQReplay(t *testing.T, s stack, posts []post.Message, nPoison int) {
	t.Helper()
	ctx := context.Background()
	opt := DLQReplayOptions{Group: s.kafka.Topic + "-dlq-replay"}
	// Generated once: its created_at follows the clock it is made at, so
	// the counts below must see the very post that was published.
	fixed := stacktest.GenPosts("fixed", 1, time.Now(), 0, 6)
	steps := []struct {
		name                     string
		before                   func()
		skip                     bool
		read, refed, stillPoison int64
		wantErr                  bool
	}{
		{name: "nothing decodes yet", read: int64(nPoison), stillPoison: int64(nPoison), wantErr: true},
		{name: "the same again, with one fixed message", before: func() {
			dlqCfg := *s.kafka
			dlqCfg.Topic = s.kafka.DLQTopic()
			publish(t, &dlqCfg, fixed)
		}, read: int64(nPoison) + 1, refed: 1, stillPoison: int64(nPoison), wantErr: true},
		{name: "skip the poison", skip: true, read: int64(nPoison) + 1, refed: 1, stillPoison: int64(nPoison)},
		{name: "nothing left", read: 0},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		o := opt
		o.SkipPoison = st.skip
		got, err := ReplayDLQ(ctx, s.kafka, o, testLogger(t))
		if (err != nil) != st.wantErr || (err != nil && !errors.Is(err, ErrStillPoison)) {
			t.Fatalf("%s: dlq replay error %v, want ErrStillPoison: %v", st.name, err, st.wantErr)
		}
		if got.Read != st.read || got.Refed != st.refed || got.StillPoison != st.stillPoison {
			t.Fatalf("%s: dlq replay %+v; want %d read, %d re-fed, %d still poison", st.name, got, st.read, st.refed, st.stillPoison)
		}
		if st.stillPoison > 0 && got.Reasons["missing_field"] == 0 {
			t.Errorf("%s: reasons %v lack missing_field", st.name, got.Reasons)
		}
	}
	runCaughtUp(t, s, testConfig(s.kafka.Topic+"-group"))
	assertCounts(t, s.conn, posts, fixed)

	// dlq list reads every dead letter with its headers; the post fields
	// of a JSON object are kept apart, as `ingest file` input.
	var letters []DeadLetter
	if err := ListDLQ(ctx, s.kafka, func(d DeadLetter) error { letters = append(letters, d); return nil }); err != nil {
		t.Fatalf("dlq list: %v", err)
	}
	if len(letters) != nPoison+1 {
		t.Fatalf("dlq list: %d dead letters, want %d", len(letters), nPoison+1)
	}
	byKey := map[string]DeadLetter{}
	for _, d := range letters {
		byKey[d.Value+string(d.ValueBase64)] = d
	}
	noDate := byKey[`{"id": "no-date", "text": "no created_at"}`]
	if noDate.Reason != "missing_field" || noDate.OriginalTopic != s.kafka.Topic || noDate.OriginalOffset < 0 || noDate.Error == "" {
		t.Errorf("dead letter without created_at: %+v; want reason missing_field, its origin and error", noDate)
	}
	if string(noDate.Post) != `{"id":"no-date","text":"no created_at"}` {
		t.Errorf("post fields of the dead letter without created_at: %s", noDate.Post)
	}
	old := byKey[`{"id": "old", "text": "t", "created_at": "1901-01-01T00:00:00Z", "hashtags": [{"tag": "x", "display": "x"}]}`]
	if string(old.Post) != `{"created_at":"1901-01-01T00:00:00Z","id":"old","text":"t"}` {
		t.Errorf("post fields of the dead letter from 1901 (hashtags dropped): %s", old.Post)
	}
	if notJSON := byKey["not json at all"]; notJSON.Post != nil || notJSON.Reason != "invalid_json" {
		t.Errorf("dead letter that is not JSON: %+v, want no post fields and reason invalid_json", notJSON)
	}
	for _, d := range letters {
		if _, err := json.Marshal(d); err != nil {
			t.Errorf("dead letter at %d/%d does not marshal: %v", d.Partition, d.Offset, err)
		}
	}
}
