package stacktest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStackSupervisesAService runs scripts/stack in a scratch checkout
// whose only services are two test services, so the shared stack is not
// touched: a good one (a Python HTTP server) and one that exits at once.
// The good one starts, is started again by its supervisor when killed
// (SIGKILL), and stops with its supervisor; the bad one makes start fail
// at once with its log, not at the deadline.
func TestStackSupervisesAService(t *testing.T) {
	Require(t)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatalf("python3 is not installed (scripts/stack up installs it): %v", err)
	}
	root := RepoRoot(t)
	dir := t.TempDir()
	for _, f := range []string{"scripts/stack", "scripts/stack.d/supervise.py"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	service := func(name, ports, cmd string) string {
		return fmt.Sprintf(`SERVICES+=(%[1]s)
%[1]s_config_version() { echo 1; }
%[1]s_ports() { echo %[2]s; }
%[1]s_addr() { echo test; }
%[1]s_log() { echo "$STACK/%[1]s/logs/console.log"; }
%[1]s_ready_limit() { echo 20; }
%[1]s_tools() { :; }
%[1]s_start() { launch_supervised %[1]s %[3]s; }
%[1]s_ready() { port_listening %[2]s; }
`, name, ports, cmd)
	}
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "scripts", "stack.d", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	good := func(port int) {
		write("10-good.sh", service("good", strconv.Itoa(port), "python3 -m http.server --bind 127.0.0.1 "+strconv.Itoa(port)))
	}
	good(port)
	write("20-bad.sh", service("bad", strconv.Itoa(freePort(t)), `sh -c 'echo boom; exit 3'`))
	script := filepath.Join(dir, "scripts", "stack")
	run := func(args ...string) (string, error) {
		out, err := exec.Command(script, args...).CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() { run("down") })
	serverPID := func() int {
		b, err := os.ReadFile(filepath.Join(dir, ".stack", "good", "server.pid"))
		if err != nil {
			return 0
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return pid
	}

	// The free port can be taken by another process of the test run before
	// the server binds it; the server then exits at once. Another port.
	for attempt := 1; ; attempt++ {
		out, err := run("start", "good")
		if err == nil {
			break
		}
		if attempt == 3 || !strings.Contains(out, "exited during startup") {
			t.Fatalf("scripts/stack start good: %v\n%s", err, out)
		}
		t.Logf("start good, attempt %d, on port %d: %v; again on another port", attempt, port, err)
		port = freePort(t)
		good(port)
	}
	first := serverPID()
	if first == 0 || !answers(port) {
		t.Fatalf("after start: server pid %d, port %d answering %v", first, port, answers(port))
	}
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatalf("killing the server (pid %d): %v", first, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !(serverPID() != first && answers(port)) {
		if time.Now().After(deadline) {
			t.Fatalf("the supervisor did not start the killed server again within 20 s (server pid %d)", serverPID())
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, _ := run("status")
	if !statusUp(out, "good") {
		t.Errorf("status does not report good up:\n%s", out)
	}

	start := time.Now()
	out, err := run("start", "bad")
	if err == nil || !strings.Contains(out, "exited during startup") || !strings.Contains(out, "boom") {
		t.Errorf("scripts/stack start bad: err %v, want a failure that says it exited and shows its log:\n%s", err, out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("start bad took %v to fail; its ready limit is 20 s, a dead server should fail at once", d)
	}

	if out, err := run("stop", "good"); err != nil {
		t.Fatalf("scripts/stack stop good: %v\n%s", err, out)
	}
	if answers(port) {
		t.Errorf("port %d still answers after stop", port)
	}
	if _, err := os.Stat(filepath.Join(dir, ".stack", "good", "server.pid")); !os.IsNotExist(err) {
		t.Errorf("server.pid is still there after stop (%v)", err)
	}
}

// statusUp reports whether scripts/stack status printed svc as up.
func statusUp(status, svc string) bool {
	for _, line := range strings.Split(status, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == svc {
			return f[1] == "up"
		}
	}
	return false
}

// freePort returns a loopback TCP port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	_, port, err := net.SplitHostPort(FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// answers reports whether something accepts connections on the port.
func answers(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
