package stacktest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

// StartProcess runs a daemon until the test ends, then stops it with
// SIGINT (SIGKILL after 20 s). Its output goes to a file that is logged
// when the test fails.
func StartProcess(t testing.TB, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	logs, err := os.Create(filepath.Join(t.TempDir(), filepath.Base(name)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logs.Name())
			t.Logf("%s output:\n%s", filepath.Base(name), b)
		}
		logs.Close()
	})
	return cmd
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
