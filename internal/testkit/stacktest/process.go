package stacktest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// FreeAddr returns a loopback address whose port nothing listens on now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// WaitFor polls cond until it holds, failing the test when timeout passes
// first; detail, when given, explains the failure.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool, detail ...func() string) {
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
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitHTTP polls url until it answers 200 and returns the body.
func WaitHTTP(ctx context.Context, t testing.TB, url string) []byte {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	var lastErr error
	for ctx.Err() == nil {
		resp, err := client.Get(url)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && rerr == nil {
				return body
			}
			err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
		}
		lastErr = err
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: %v", url, lastErr)
	return nil
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

// Proc is a binary a test runs, with its output. Start and Run are the one
// way tests and the harness start processes.
type Proc struct {
	// Name names the process in failures and logs.
	Name   string
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{}
	err    error
}

// stopGrace is how long the cleanup of a test waits for a process it
// interrupted before it kills it.
const stopGrace = 20 * time.Second

// Start runs bin with args, the test's environment and the variables of
// env (later ones win). When the test ends, a process still running gets
// SIGINT, then SIGKILL after 20 s; its output is logged when the test
// failed.
func Start(t testing.TB, name, bin string, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
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
		if !p.Exited() {
			_ = p.cmd.Process.Signal(os.Interrupt)
			select {
			case <-p.done:
			case <-time.After(stopGrace):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s%s", name, Tail(p.Stdout()), Tail(p.Stderr()))
		}
	})
	return p
}

// Run runs bin to completion (within 3 minutes) and fails the test when it
// exits non-zero.
func Run(t testing.TB, name, bin string, env []string, args ...string) *Proc {
	t.Helper()
	p := Start(t, name, bin, env, args...)
	if err := p.Wait(t, 3*time.Minute); err != nil {
		t.Fatalf("%s: %v\n%s%s", name, err, Tail(p.Stdout()), Tail(p.Stderr()))
	}
	return p
}

// Tail returns the end of a process's output, short enough for a failure
// message.
func Tail(s string) string {
	const n = 8000
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// Stdout returns what the process wrote to stdout so far.
func (p *Proc) Stdout() string { return p.stdout.String() }

// Stderr returns what the process wrote to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// PID returns the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err returns how the process ended: nil for exit status 0; nil also while
// it runs.
func (p *Proc) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// Signal sends sig to the process.
func (p *Proc) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("sending %s to %s: %v", sig, p.Name, err)
	}
}

// Wait waits for the process to exit and returns how it ended.
func (p *Proc) Wait(t testing.TB, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %s", p.Name, timeout)
		return nil
	}
}

// Stop ends a daemon with SIGTERM and expects a clean exit.
func (p *Proc) Stop(t testing.TB) {
	t.Helper()
	p.Signal(t, syscall.SIGTERM)
	if err := p.Wait(t, 60*time.Second); err != nil {
		t.Fatalf("%s after SIGTERM: %v", p.Name, err)
	}
}

// HTTPAddr waits for the process, run with --log-format json, to log the
// address its HTTP server listens on (msg "HTTP server listening") and
// returns the first one logged.
func (p *Proc) HTTPAddr(t testing.TB) string {
	t.Helper()
	var addr string
	WaitFor(t, 60*time.Second, p.Name+"'s HTTP address", func() bool {
		if p.Exited() {
			t.Fatalf("%s exited: %v\n%s", p.Name, p.err, Tail(p.Stderr()))
		}
		if addrs := ListenAddrs(p.Stderr()); len(addrs) > 0 {
			addr = addrs[0]
		}
		return addr != ""
	})
	return addr
}

// ListenAddrs returns the addresses of the "HTTP server listening" lines of
// a JSON log, in order.
func ListenAddrs(log string) []string {
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
