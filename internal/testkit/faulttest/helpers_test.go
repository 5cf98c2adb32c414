package faulttest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chstore"
	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/testkit/stacktest"
)

// env is one test's piece of the real stack: its own topic (and dead-letter
// topic), its own migrated database, and a consumer group name.
type env struct {
	kafka *kafkaclient.Config
	store chstore.Config
	conn  driver.Conn
	group string
}

func newEnv(t *testing.T, partitions int) env {
	t.Helper()
	k := stacktest.Kafka(t, partitions)
	store, conn := stacktest.MigratedClickHouse(t)
	return env{kafka: k, store: store, conn: conn, group: k.Topic + "-group"}
}

// kafkaArgs are the flags both binaries need to reach the test's topic.
func (e env) kafkaArgs() []string {
	return []string{"--kafka-brokers", strings.Join(e.kafka.Brokers, ","), "--kafka-topic", e.kafka.Topic, "--log-format", "json"}
}

// aggregateArgs runs `aggregate run` on the test's topic, group and
// database, flushing and checking readiness quickly.
func (e env) aggregateArgs(extra ...string) []string {
	args := append([]string{"run"}, e.kafkaArgs()...)
	args = append(args,
		"--kafka-group", e.group,
		"--clickhouse-dsn", e.store.DSN,
		"--http-addr", "127.0.0.1:0",
		"--batch-rows", "2000",
		"--flush-interval", "200ms",
		"--lag-interval", "500ms",
		"--insert-timeout", "5s",
		"--retry-max", "2s",
		"--retention", "0",
	)
	return append(args, extra...)
}

// tags are the hashtags generated posts use: as written in the text, and
// the canonical key aggregate must count them under.
var tags = []struct{ written, key string }{
	{"#OTAN", "otan"}, {"#nato", "nato"}, {"#Réarmement", "rearmement"}, {"#RÉARMEMENT", "rearmement"},
	{"#NIF2025", "nif2025"}, {"#Straße", "strasse"}, {"#Ukraine", "ukraine"}, {"#EU", "eu"},
}

// testPost is a post as JSONL files and webhook bodies carry it, with the
// canonical keys of the hashtags its text holds.
type testPost struct {
	ID        string    `json:"id"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
	keys      []string
}

// genPosts returns n posts with ids prefix-0…, one to three hashtags each
// (some written twice or in two spellings of one key), created during the
// last five minutes, padded to about size bytes of text.
func genPosts(prefix string, n, size int, seed uint64) []testPost {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b9))
	now := time.Now().UTC().Truncate(time.Second)
	out := make([]testPost, n)
	for i := range out {
		var text strings.Builder
		fmt.Fprintf(&text, "post %s-%d", prefix, i)
		seen := map[string]bool{}
		var keys []string
		for k := 0; k < 1+r.IntN(3); k++ {
			tag := tags[r.IntN(len(tags))]
			text.WriteString(" " + tag.written)
			if !seen[tag.key] {
				seen[tag.key] = true
				keys = append(keys, tag.key)
			}
		}
		if pad := size - text.Len(); pad > 0 {
			text.WriteString(" ")
			text.WriteString(strings.Repeat("lorem ipsum ", pad/12+1)[:pad])
		}
		out[i] = testPost{
			ID:        fmt.Sprintf("%s-%d", prefix, i),
			Text:      text.String(),
			CreatedAt: now.Add(-time.Duration(r.IntN(300)) * time.Second),
			keys:      keys,
		}
	}
	return out
}

// writeJSONL writes posts to a new file in dir, one JSON object a line.
func writeJSONL(t *testing.T, dir, name string, posts []testPost) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, p := range posts {
		if err := enc.Encode(p); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, name)
	// Write then rename, so a polling ingest never reads half a file.
	if err := os.WriteFile(path+".tmp", b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	return path
}

// wantTotals counts distinct posts per canonical tag.
func wantTotals(lists ...[]testPost) map[string]uint64 {
	out := map[string]uint64{}
	seen := map[string]bool{}
	for _, list := range lists {
		for _, p := range list {
			for _, k := range p.keys {
				if id := p.ID + "\x00" + k; !seen[id] {
					seen[id] = true
					out[k]++
				}
			}
		}
	}
	return out
}

// storedTotals is the check query of the fault matrix.
func storedTotals(t *testing.T, conn driver.Conn) map[string]uint64 {
	t.Helper()
	return stacktest.TagTotals(t, conn)
}

func assertTotals(t *testing.T, conn driver.Conn, lists ...[]testPost) {
	t.Helper()
	if got, want := storedTotals(t, conn), wantTotals(lists...); !reflect.DeepEqual(got, want) {
		t.Fatalf("per-tag counts in ClickHouse:\n got  %v\n want %v", sorted(got), sorted(want))
	}
}

// waitTotals waits until ClickHouse holds exactly the counts of the posts;
// counts only ever grow towards them, so "equal" is final.
func waitTotals(t *testing.T, conn driver.Conn, timeout time.Duration, lists ...[]testPost) {
	t.Helper()
	want := wantTotals(lists...)
	var got map[string]uint64
	waitFor(t, timeout, "exact counts in ClickHouse", func() bool {
		got = storedTotals(t, conn)
		return reflect.DeepEqual(got, want)
	}, func() string { return fmt.Sprintf("got %v, want %v", sorted(got), sorted(want)) })
}

func sorted(m map[string]uint64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// waitFor polls cond until it holds or the timeout passes; detail, when
// given, explains the failure.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool, detail ...func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := ""
			for _, d := range detail {
				msg += ": " + d()
			}
			t.Fatalf("timed out after %s waiting for %s%s", timeout, what, msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// topicMessages sums the end offsets of the test topic's partitions: how
// many messages were ever written to it.
func topicMessages(t *testing.T, k *kafkaclient.Config) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := k.Client()
	if err != nil {
		t.Fatal(err)
	}
	parts, err := kafkaclient.Partitions(ctx, client, k.Topic)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := kafkaclient.LogOffsets(ctx, client, k.Topic, parts)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, o := range logs {
		n += o.End
	}
	return n
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a running binary with its output.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{}
	err    error
}

// start runs bin with args and the test's environment plus extra
// variables. Cleanup kills it when still running and logs its output when
// the test failed.
func start(t *testing.T, name, bin string, extraEnv []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), extraEnv...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s%s", name, tail(p.stdout.String()), tail(p.stderr.String()))
		}
	})
	return p
}

func tail(s string) string {
	const n = 8000
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the process.
func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("sending %s to %s: %v", sig, p.name, err)
	}
}

// wait waits for the process to exit and returns its error.
func (p *proc) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %s", p.name, timeout)
		return nil
	}
}

// stop ends a daemon with SIGTERM and expects a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.signal(t, syscall.SIGTERM)
	if err := p.wait(t, 60*time.Second); err != nil {
		t.Fatalf("%s after SIGTERM: %v", p.name, err)
	}
}

// mustRun runs bin to completion and fails the test when it exits non-zero.
func mustRun(t *testing.T, name, bin string, extraEnv []string, args ...string) *proc {
	t.Helper()
	p := start(t, name, bin, extraEnv, args...)
	if err := p.wait(t, 3*time.Minute); err != nil {
		t.Fatalf("%s: %v\n%s%s", name, err, tail(p.stdout.String()), tail(p.stderr.String()))
	}
	return p
}

// httpAddr waits for the process to log the address its HTTP server
// listens on (msg "HTTP server listening") and returns it; the first one
// logged when it has several, or the one whose line holds contains.
func (p *proc) httpAddr(t *testing.T) string {
	t.Helper()
	var addr string
	waitFor(t, 60*time.Second, p.name+"'s HTTP address", func() bool {
		if p.exited() {
			t.Fatalf("%s exited: %v\n%s", p.name, p.err, tail(p.stderr.String()))
		}
		addrs := logAddrs(p.stderr.String())
		if len(addrs) > 0 {
			addr = addrs[0]
		}
		return addr != ""
	})
	return addr
}

// logAddrs returns the addresses of the "HTTP server listening" lines of a
// JSON log, in order.
func logAddrs(log string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "HTTP server listening" && line.Addr != "" {
			out = append(out, line.Addr)
		}
	}
	return out
}

// httpGet returns the status and body of GET url.
func httpGet(url string) (int, string, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// metricSum scrapes addr/metrics and sums the samples of the named metric
// (every label combination).
func metricSum(t *testing.T, addr, name string) float64 {
	t.Helper()
	code, body, err := httpGet("http://" + addr + "/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("scraping %s/metrics: %d %v", addr, code, err)
	}
	return stacktest.SampleSum(stacktest.ParseMetrics(t, body)[name])
}

// readyz returns the status of GET /readyz, or 0 when it does not answer.
func readyz(addr string) int {
	code, _, err := httpGet("http://" + addr + "/readyz")
	if err != nil {
		return 0
	}
	return code
}
