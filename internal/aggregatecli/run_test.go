package aggregatecli

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
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

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
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
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs, done := startRun(ctx, "--http-addr", addr, "--clickhouse-dsn", unreachableDSN)

	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(logs.String(), "ClickHouse not ready at start; retrying") < 3 {
		select {
		case err := <-done:
			t.Fatalf("aggregate run exited while ClickHouse was unreachable: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no three logged attempts in 20s:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
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
