package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tagpulse/internal/command"
	"tagpulse/internal/post"
	"tagpulse/internal/publish"
	"tagpulse/internal/publish/publishtest"
	"tagpulse/internal/source"
	"tagpulse/internal/testkit/stacktest"
)

func realRunner(t *testing.T, pub Publisher) *Runner {
	t.Helper()
	return New(DefaultConfig(), pub, Extractor{Version: 3, AppendDistinct: words}, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
}

func newPublisher(t *testing.T, partitions int) (*publish.Publisher, func() []publishtest.Message) {
	t.Helper()
	kc := stacktest.Kafka(t, partitions)
	pub, err := publish.New(publish.DefaultConfig(), kc, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	return pub, func() []publishtest.Message { return publishtest.ReadAll(t, kc) }
}

// Feeds and files polled with --once land in Kafka with their hashtags,
// keyed by post id; a second --once with the same state publishes nothing.
func TestKafkaOnceTwice(t *testing.T) {
	pub, read := newPublisher(t, 3)
	feed, err := os.ReadFile("testdata/feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(feed) }))
	defer srv.Close()
	stateDir := t.TempDir()

	run := func() Stats {
		state, err := source.OpenState(stateDir)
		if err != nil {
			t.Fatal(err)
		}
		opt := source.Options{State: state}
		opt.Name = "rss-1"
		rss, err := source.NewFeed(srv.URL, opt)
		if err != nil {
			t.Fatal(err)
		}
		opt.Name = "file-1"
		file, err := source.NewFile([]string{"testdata/posts.jsonl"}, opt)
		if err != nil {
			t.Fatal(err)
		}
		stats, err := realRunner(t, pub).Run(context.Background(), []Scheduled{{Source: rss}, {Source: file}}, true)
		if err != nil {
			t.Fatal(err)
		}
		return stats
	}

	first := run()
	if first.Published != 4 || first.Rejected["missing_field"] != 1 {
		t.Fatalf("first run: %+v, want 4 published, 1 rejected", first)
	}
	msgs := read()
	byKey := map[string]publishtest.Message{}
	for _, m := range msgs {
		if m.Key != m.Value.ID {
			t.Errorf("message key %q, value id %q: want the post id as key", m.Key, m.Value.ID)
		}
		byKey[m.Key] = m
	}
	want := map[string][]string{
		"rss:https://feed.example.org/1": {"nif2025"},
		"rss:https://feed.example.org/2": {"defence", "otan"},
		"it-1":                           {"otan"},
		"it-3":                           {"nato"},
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages in the topic, want %d", len(msgs), len(want))
	}
	for id, tags := range want {
		m, ok := byKey[id]
		if !ok {
			t.Errorf("post %s missing from the topic", id)
			continue
		}
		var got []string
		for _, h := range m.Value.Hashtags {
			got = append(got, h.Tag)
		}
		if !slices.Equal(got, tags) || m.Value.ExtractorVersion != 3 {
			t.Errorf("post %s: hashtags %v (extractor %d), want %v (3)", id, got, m.Value.ExtractorVersion, tags)
		}
	}

	second := run()
	if second.Published != 0 || second.Duplicates != 5 {
		t.Errorf("second run: %+v, want nothing published and 5 duplicates", second)
	}
	if n := len(read()); n != len(want) {
		t.Errorf("%d messages after the second run, want still %d", n, len(want))
	}
}

// Clients post to the webhook while the server shuts down: every post that
// got a 202 is in Kafka afterwards.
func TestWebhookShutdownLosesNothing(t *testing.T) {
	pub, read := newPublisher(t, 3)
	r := realRunner(t, pub)
	hook, err := source.NewWebhook(source.WebhookConfig{Token: "tok"},
		func(ctx context.Context, items []source.Item) ([]source.Skipped, error) {
			return r.Deliver(ctx, source.KindWebhook, items)
		},
		prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + source.WebhookPath
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- command.Serve(ctx, ln, hook.Handler(), slog.New(slog.DiscardHandler)) }()

	var (
		mu       sync.Mutex
		accepted []string
		wg       sync.WaitGroup
		stop     = make(chan struct{})
	)
	client := &http.Client{Timeout: 30 * time.Second}
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				batch := []post.Post{
					{ID: fmt.Sprintf("w-%d-%d-a", c, i), Text: "#shutdown test", CreatedAt: time.Now()},
					{ID: fmt.Sprintf("w-%d-%d-b", c, i), Text: "#shutdown again", CreatedAt: time.Now()},
				}
				body, _ := json.Marshal(batch)
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer tok")
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					continue // refused while shutting down: not accepted
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					mu.Lock()
					accepted = append(accepted, batch[0].ID, batch[1].ID)
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	cancel() // SIGTERM: the server stops taking requests, finishes the ones in flight
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	close(stop)
	wg.Wait()
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	if len(accepted) == 0 {
		t.Fatal("no request was accepted before shutdown")
	}
	inTopic := map[string]bool{}
	for _, m := range read() {
		inTopic[m.Key] = true
	}
	lost := 0
	for _, id := range accepted {
		if !inTopic[id] {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d accepted posts missing from the topic", lost, len(accepted))
	}
	t.Logf("%d accepted posts, all in the topic", len(accepted))
}
