package stacktest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// StackScript is the scripts/stack that runs the stack under test: fault
// tests stop, start and freeze its services through it.
type StackScript string

// FaultStack marks a test that stops or freezes a shared service
// (RequireFault) and returns the scripts/stack that runs the stack under
// test: TAGPULSE_STACK_SCRIPT, else the one of this checkout. It refuses a
// script whose .stack holds no running ClickHouse (the service under test,
// ClickHouseService) and Kafka: restarting those would start a second
// stack.
func FaultStack(t testing.TB) StackScript {
	t.Helper()
	RequireFault(t)
	s := StackScript(os.Getenv("TAGPULSE_STACK_SCRIPT"))
	if s == "" {
		s = StackScript(filepath.Join(RepoRoot(t), "scripts", "stack"))
	}
	for _, svc := range []string{"kafka", ClickHouseService} {
		pid, err := s.PID(svc)
		if err == nil {
			err = syscall.Kill(pid, 0)
		}
		if err != nil {
			t.Fatalf("%s of %s is not running (%v); set TAGPULSE_STACK_SCRIPT to the scripts/stack that started the stack", svc, s, err)
		}
	}
	return s
}

// PID reads the PID file scripts/stack keeps for a service.
func (s StackScript) PID(svc string) (int, error) {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(string(s)), "..", ".stack", svc, svc+".pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// Run runs the script with args and fails the test when it fails.
func (s StackScript) Run(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command(string(s), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", s, args, err, out)
	}
}

// ServerPID is the PID of the server process of a service: for a service
// scripts/stack supervises (it keeps .stack/SERVICE/server.pid), the server
// the supervisor runs now, not the supervisor.
func (s StackScript) ServerPID(svc string) (int, error) {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(string(s)), "..", ".stack", svc, "server.pid"))
	if errors.Is(err, os.ErrNotExist) {
		return s.PID(svc)
	}
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// Supervised reports whether scripts/stack restarts svc by itself when
// its server dies.
func (s StackScript) Supervised(svc string) bool {
	_, err := os.Stat(filepath.Join(filepath.Dir(string(s)), "..", ".stack", svc, "server.pid"))
	return err == nil
}

// Stop stops a service; cleanup starts it again whatever happens.
func (s StackScript) Stop(t testing.TB, svc string) {
	t.Helper()
	t.Cleanup(func() { s.Run(t, "start", svc) })
	s.Run(t, "stop", svc)
}

// Freeze stops the ClickHouse under test with SIGSTOP, so it holds its
// connections and answers nothing; the returned function (also run at
// cleanup) resumes it.
func (s StackScript) Freeze(t testing.TB) (resume func()) {
	t.Helper()
	pid, err := s.ServerPID(ClickHouseService)
	if err != nil {
		t.Fatalf("reading ClickHouse's PID: %v", err)
	}
	resumed := false
	resume = func() {
		if !resumed {
			resumed = true
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				t.Errorf("resuming ClickHouse (pid %d): %v", pid, err)
			}
		}
	}
	t.Cleanup(resume)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("freezing ClickHouse (pid %d): %v", pid, err)
	}
	return resume
}
