package aggregatecli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/post"
	"tagpulse/internal/testkit/stacktest"
)

// lockedBuffer is a log the command writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// unreachableDSN names a ClickHouse nobody listens on: port 1 refuses.
const unreachableDSN = "clickhouse://default:@127.0.0.1:1/tagpulse_unreachable"

// startRun runs `aggregate run args...` in this process until ctx ends and
// returns its log and a channel that receives its result.
func startRun(ctx context.Context, args ...string) (*lockedBuffer, <-chan error) {
	cmd := New()
	var logs lockedBuffer
	cmd.SetOut(&logs)
	cmd.SetErr(&logs)
	cmd.SetArgs(append([]string{"run", "--retry-min", "20ms", "--retry-max", "100ms"}, args...))
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	return &logs, done
}

func status(addr, path string) int {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A ClickHouse that does not answer at start is waited for, with /readyz
// false and every attempt logged, until the process is told to stop.
func TestRunWaitsForClickHouseAtStart(t *testing.T) {
	addr := stacktest.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs, done := startRun(ctx, "--http-addr", addr, "--clickhouse-dsn", unreachableDSN)

	stacktest.WaitFor(t, 20*time.Second, "three logged attempts", func() bool {
		select {
		case err := <-done:
			t.Fatalf("aggregate run exited while ClickHouse was unreachable: %v\n%s", err, logs.String())
		default:
		}
		return strings.Count(logs.String(), "ClickHouse not ready at start; retrying") >= 3
	}, logs.String)
	// The page is served; its API calls fail until ClickHouse answers.
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 503, "/": 200} {
		if got := status(addr, path); got != want {
			t.Errorf("GET %s = %d while waiting for ClickHouse, want %d", path, got, want)
		}
	}
	cancel() // as SIGTERM does
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stopping while waiting for ClickHouse: %v, want a clean exit", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("aggregate run did not stop within 15s of its context ending")
	}
}

// An HTTP address already in use stops `aggregate run` at once with an
// error that names it, even while ClickHouse is not there to wait for.
func TestRunStopsWhenItsHTTPAddressIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logs, done := startRun(ctx, "--http-addr", taken.Addr().String(), "--clickhouse-dsn", unreachableDSN)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "listening on "+taken.Addr().String()) {
			t.Errorf("aggregate run = %v, want an error naming the address in use\n%s", err, logs.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("aggregate run still running 5s after failing to listen\n%s", logs.String())
	}
}

// A run --until-caught-up serves no HTTP unless asked, so it works while
// the daemon holds the default port, and ends by saying what it loaded.
func TestRunUntilCaughtUpNeedsNoPortAndSaysWhatItLoaded(t *testing.T) {
	k := stacktest.Kafka(t, 3)
	store, conn := stacktest.ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Hold the default port as a daemon would (if something else holds
	// it already, that serves as well).
	if ln, err := net.Listen("tcp", DefaultHTTPAddr); err == nil {
		defer ln.Close()
	}
	t.Setenv("AGGREGATE_HTTP_ADDR", "")

	created := time.Now().UTC().Truncate(time.Second)
	var msgs []kafka.Message
	for i, tags := range [][]string{{"otan", "nif2025"}, {"otan"}, {}} {
		m := post.Message{Post: post.Post{ID: fmt.Sprintf("p%d", i), Text: "text", CreatedAt: created, Source: "file", Lang: "fr"}, ExtractorVersion: 1}
		for _, tag := range tags {
			m.Hashtags = append(m.Hashtags, post.Hashtag{Tag: tag, Display: tag})
		}
		v, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(m.ID), Value: v})
	}
	msgs = append(msgs, kafka.Message{Key: []byte("poison"), Value: []byte("not json")})
	stacktest.Produce(t, k, k.Topic, msgs...)

	cmd := New()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"run", "--until-caught-up", "--kafka-brokers", strings.Join(k.Brokers, ","), "--kafka-topic", k.Topic,
		"--kafka-group", stacktest.UniqueName("caughtup"), "--clickhouse-dsn", store.DSN})
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatalf("aggregate run --until-caught-up with %s taken: %v\n%s", DefaultHTTPAddr, err, errOut.String())
	}
	summary := regexp.MustCompile(`caught up in [0-9.]+m?s: read 4 messages from 3 partitions: 3 posts written as 3 mentions, 1 dead letters\n`)
	if !summary.MatchString(errOut.String()) {
		t.Errorf("stderr does not end with the summary:\n%s", errOut.String())
	}
	if got := stacktest.TagTotals(t, conn); got["otan"] != 2 || got["nif2025"] != 1 {
		t.Errorf("tag totals = %v, want otan 2 and nif2025 1", got)
	}
}

func TestHTTPAddrGiven(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want bool
	}{
		{nil, "", false},
		{[]string{"--http-addr", "127.0.0.1:9999"}, "", true},
		{[]string{"--http-addr", ""}, "", true},
		{nil, "127.0.0.1:9999", true},
	} {
		t.Run(fmt.Sprint(tc.args, tc.env), func(t *testing.T) {
			t.Setenv("AGGREGATE_HTTP_ADDR", tc.env)
			cmd := newRunCmd()
			if err := cmd.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			if got := httpAddrGiven(cmd); got != tc.want {
				t.Errorf("httpAddrGiven = %v, want %v", got, tc.want)
			}
		})
	}
}
