package command

import (
	"bufio"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestNewHasTimeoutsAndLimits(t *testing.T) {
	s := NewServer("127.0.0.1:0", http.NotFoundHandler())
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": s.ReadHeaderTimeout, "ReadTimeout": s.ReadTimeout,
		"WriteTimeout": s.WriteTimeout, "IdleTimeout": s.IdleTimeout,
	} {
		if d <= 0 || d > 2*time.Minute {
			t.Errorf("%s = %s, want a bound of at most 2m", name, d)
		}
	}
	if s.MaxHeaderBytes <= 0 || s.MaxHeaderBytes > 1<<20 {
		t.Errorf("MaxHeaderBytes = %d, want a bound of at most 1 MiB", s.MaxHeaderBytes)
	}
}

// serve runs Serve on an ephemeral port until the test ends.
func serve(t *testing.T) string {
	t.Helper()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }), slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func TestServeRefusesHugeHeaders(t *testing.T) {
	addr := serve(t)
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	req.Header.Set("X-Flood", strings.Repeat("a", 200<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d for 200 KiB of headers, want 431", resp.StatusCode)
	}
}

// TestServeCutsSlowHeaders is a slowloris client: it opens a connection
// and never finishes its headers. The server hangs up after
// ReadHeaderTimeout instead of holding the connection forever.
func TestServeCutsSlowHeaders(t *testing.T) {
	t.Parallel()
	addr := serve(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	elapsed := time.Since(start)
	switch {
	case err == nil:
		t.Fatalf("the server answered an unfinished request: %q", line)
	case elapsed > 20*time.Second:
		t.Fatalf("connection still open after %s (%v); want it closed after the header timeout", elapsed, err)
	}
}

// TestEveryServerUsesThisPackage looks through the code for HTTP servers
// built another way, which would have no timeouts.
func TestEveryServerUsesThisPackage(t *testing.T) {
	root := filepath.Join("..", "..")
	bare := regexp.MustCompile(`http\.Server\{|http\.ListenAndServe|http\.Serve\(|ListenAndServeTLS`)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != root || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, filepath.Join("internal", "command", "server.go")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if loc := bare.FindIndex(b); loc != nil {
			t.Errorf("%s builds an HTTP server without command.NewServer: %q", path, b[loc[0]:loc[1]])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
