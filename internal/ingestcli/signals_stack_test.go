package ingestcli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/publish/publishtest"
	"tagpulse/internal/source"
	"tagpulse/internal/testkit/stacktest"
)

// checkTombstone fails the test unless the messages of key hold its post
// (when withPost) and then its tombstone, in one partition and in that
// order, the tombstone's value saying "deleted":true with no tags.
func checkTombstone(t *testing.T, msgs []publishtest.Message, key string, withPost bool) {
	t.Helper()
	var got []publishtest.Message
	for _, m := range msgs {
		if m.Key == key {
			got = append(got, m)
		}
	}
	want := 1
	if withPost {
		want = 2
	}
	if len(got) != want {
		t.Fatalf("%d messages keyed %s, want %d", len(got), key, want)
	}
	tomb := got[len(got)-1]
	if !tomb.Value.Deleted || !bytes.Contains(tomb.Raw, []byte(`"deleted":true`)) || len(tomb.Value.Hashtags) != 0 || tomb.Value.Text != "" {
		t.Errorf("message %s: %s, want a tombstone with \"deleted\":true and no tags", key, tomb.Raw)
	}
	if tomb.Value.ID != key {
		t.Errorf("tombstone of %s has id %q: want the key", key, tomb.Value.ID)
	}
	if withPost {
		p := got[0]
		if p.Value.Deleted || p.Partition != tomb.Partition || p.Offset >= tomb.Offset {
			t.Errorf("post %s at %d@%d, tombstone at %d@%d: want the post first, in the same partition",
				key, p.Partition, p.Offset, tomb.Partition, tomb.Offset)
		}
	}
}

// `ingest file` publishes the tombstones of JSONL lines and CSV rows,
// keyed by the post id as the post is; it publishes neither a post that
// is not public nor one of an excluded account, and carries
// "indexable":false.
func TestFileSignals(t *testing.T) {
	kc := stacktest.Kafka(t, 4)
	args := append([]string{"file", "testdata/signals", "--exclude-account", "@Spammer@flood.example"}, kafkaArgs(kc)...)
	out, err := execute(context.Background(), t, args...)
	if err != nil {
		t.Fatalf("ingest file: %v\n%s", err, out)
	}
	want := "2 files: 7 posts read, 5 published (2 tombstones), 0 rejected, 2 skipped (excluded 1, not_public 1), 0 failed, 3 hashtags"
	if strings.TrimSpace(out) != want {
		t.Errorf("summary %q, want %q", out, want)
	}
	msgs := publishtest.ReadAll(t, kc)
	if len(msgs) != 5 {
		t.Errorf("%d messages, want 5", len(msgs))
	}
	// deletions.csv comes first: sig-1's tombstone precedes its post,
	// which aggregate remembers.
	checkTombstone(t, msgs, "sig-2", true)
	keys := map[string]int{}
	for _, m := range msgs {
		keys[m.Key]++
		if m.Key == "sig-5" && !bytes.Contains(m.Raw, []byte(`"indexable":false`)) {
			t.Errorf("sig-5: %s, want \"indexable\":false", m.Raw)
		}
		if bytes.Contains(m.Raw, []byte(`"visibility"`)) {
			t.Errorf("%s: %s carries its visibility", m.Key, m.Raw)
		}
	}
	if keys["sig-1"] != 2 || keys["sig-3"] != 0 || keys["sig-4"] != 0 {
		t.Errorf("messages by key %v: want sig-1 twice (post and tombstone), no sig-3 (unlisted) nor sig-4 (excluded)", keys)
	}
}

// The webhook publishes DELETE /v1/posts/ID and tombstone bodies as
// tombstones keyed by the post id, after the post in its partition, and
// answers a post that is not public with 202 and the reason it was
// skipped.
func TestRunWebhookTombstones(t *testing.T) {
	kc := stacktest.Kafka(t, 4)
	t.Setenv("INGEST_WEBHOOK_TOKEN", "tomb-token")
	metricsAddr, webhookAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		args := append([]string{"run", "--state-dir", t.TempDir(), "--metrics-addr", metricsAddr, "--webhook-addr", webhookAddr}, kafkaArgs(kc)...)
		_, err := execute(ctx, t, args...)
		done <- err
	}()
	hook := "http://" + webhookAddr + source.WebhookPath
	send := func(method, url, body string) string {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; {
			var r io.Reader
			if body != "" {
				r = strings.NewReader(body)
			}
			req, _ := http.NewRequest(method, url, r)
			req.Header.Set("Authorization", "Bearer tomb-token")
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				if time.Now().After(deadline) {
					t.Fatalf("%s %s: %v", method, url, err)
				}
				time.Sleep(50 * time.Millisecond)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("%s %s: HTTP %d %s, want 202", method, url, resp.StatusCode, b)
			}
			return string(b)
		}
	}
	send(http.MethodPost, hook, `{"id":"hook-del-1","text":"#tomb soon deleted"}`)
	send(http.MethodDelete, hook+"/hook-del-1", "")
	send(http.MethodPost, hook, `[{"id":"hook-del-2","text":"#tomb"},{"id":"hook-del-2","deleted":true}]`)
	send(http.MethodDelete, hook+"/mastodon:https:%2F%2Fsocial.example%2Fusers%2Fann%2Fstatuses%2F7?created_at=2025-11-06T10:00:00Z", "")
	if got := send(http.MethodPost, hook, `{"id":"hook-private","text":"#tomb","visibility":"private"}`); !strings.Contains(got, `"skipped":[{"id":"hook-private","reason":"not_public"}]`) {
		t.Errorf("answer %s: want hook-private skipped as not_public", got)
	}
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metrics := stacktest.ParseMetrics(t, string(body))
	if n := stacktest.SampleSum(metrics["tagpulse_ingest_tombstones_total"], "source", "webhook"); n != 3 {
		t.Errorf(`tagpulse_ingest_tombstones_total{source="webhook"} = %v, want 3`, n)
	}
	if n := stacktest.SampleSum(metrics["tagpulse_ingest_posts_skipped_total"], "reason", "not_public"); n != 1 {
		t.Errorf(`tagpulse_ingest_posts_skipped_total{reason="not_public"} = %v, want 1`, n)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop after its context ended")
	}
	msgs := publishtest.ReadAll(t, kc)
	checkTombstone(t, msgs, "hook-del-1", true)
	checkTombstone(t, msgs, "hook-del-2", true)
	checkTombstone(t, msgs, "mastodon:https://social.example/users/ann/statuses/7", false)
	for _, m := range msgs {
		if m.Key == "hook-private" {
			t.Errorf("hook-private, not public, is in the topic")
		}
	}
}
