package ingestcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tagpulse/internal/ingest"
	"tagpulse/internal/testkit/stacktest"
)

// mkfifo makes a named pipe that nobody writes to: reading it would block
// forever.
func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
}

// A named pipe given to `ingest file` or `ingest run --source file=` is
// refused at once with a clear error; before, either hung until kill -9.
func TestFileRefusesFIFO(t *testing.T) {
	kc := stacktest.Kafka(t, 1)
	fifo := filepath.Join(t.TempDir(), "posts.jsonl")
	mkfifo(t, fifo)
	// Through a symbolic link too: the target is what is read.
	link := filepath.Join(t.TempDir(), "link.jsonl")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"ingest file FIFO", []string{"file", fifo}},
		{"ingest file LINK-TO-FIFO", []string{"file", link}},
		{"ingest run --source file=FIFO", []string{"run", "--once", "--source", "file=" + fifo, "--state-dir", t.TempDir(), "--metrics-addr", ""}},
	} {
		args := tt.args
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			_, err := execute(ctx, t, append(args, kafkaArgs(kc)...)...)
			if err == nil || !strings.Contains(err.Error(), "named pipe") {
				t.Fatalf("err %v, want one naming the named pipe", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s to refuse", d)
			}
		})
	}
}

// In a folder, links to regular files are read, while named pipes and
// links to folders are reported in the summary with the file:line and
// reason of every rejected line; --strict then exits non-zero.
func TestFileFolderReportsWhatItSkips(t *testing.T) {
	kc := stacktest.Kafka(t, 1)
	dir := t.TempDir()
	elsewhere := t.TempDir()
	write := func(path, content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "a.jsonl"), `{"id":"ok-1","text":"#one","created_at":"2025-11-06T09:00:00Z"}
{"id":"bad-date","text":"#x","created_at":"9999-01-01T00:00:00Z"}
{"id":"no-text"}
`)
	write(filepath.Join(elsewhere, "target.jsonl"), `{"id":"linked","text":"#linked","created_at":"2025-11-06T09:00:00Z"}`+"\n")
	if err := os.Symlink(filepath.Join(elsewhere, "target.jsonl"), filepath.Join(dir, "b-link.jsonl")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(dir, "c-dir.jsonl")); err != nil {
		t.Fatal(err)
	}
	mkfifo(t, filepath.Join(dir, "d-pipe.jsonl"))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := execute(ctx, t, append([]string{"file", dir}, kafkaArgs(kc)...)...)
	if err != nil {
		t.Fatalf("ingest file: %v", err)
	}
	for _, want := range []string{
		"posts read, 2 published, 4 rejected",
		filepath.Join(dir, "a.jsonl") + ":2: field created_at: 9999-01-01T00:00:00Z is more than",
		filepath.Join(dir, "a.jsonl") + ":3: field text: missing field",
		filepath.Join(dir, "c-dir.jsonl") + ": a link to a folder, not followed",
		filepath.Join(dir, "d-pipe.jsonl") + ": a named pipe (FIFO)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary does not say %q:\n%s", want, out)
		}
	}
	_, err = execute(ctx, t, append([]string{"file", "--strict", dir}, kafkaArgs(kc)...)...)
	if err == nil || !strings.Contains(err.Error(), "4 posts rejected (--strict)") {
		t.Errorf("--strict: err %v, want 4 posts rejected", err)
	}
}

// The summary names at most ingest.MaxRejections rejections, then how
// many more there were.
func TestSummaryCapsRejections(t *testing.T) {
	st := ingest.Stats{Read: 30, Rejected: map[string]int{"missing_field": 25}}
	for i := range 25 {
		st.Add(ingest.Stats{Rejections: []ingest.Rejection{{File: "a.jsonl", Line: i + 1, Err: fmt.Errorf("field text: missing field")}}})
	}
	got := summary(1, st)
	lines := strings.Split(got, "\n")
	if len(lines) != 1+ingest.MaxRejections+1 {
		t.Fatalf("%d lines, want the counts, %d rejections and the rest:\n%s", len(lines), ingest.MaxRejections, got)
	}
	if lines[1] != "  rejected a.jsonl:1: field text: missing field" || lines[len(lines)-1] != "  and 5 more rejected" {
		t.Errorf("summary\n%s", got)
	}
}

// `ingest extract` reading a named pipe nobody writes to stops when the
// command's context ends (SIGTERM, SIGINT), instead of waiting for input.
func TestExtractStopsOnSignal(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "in")
	mkfifo(t, fifo)
	// Opened read-write, so the open does not wait for a writer and the
	// reads block: the case of a terminal or an idle producer.
	fh, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString("#one\n"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := New()
	var out strings.Builder
	cmd.SetIn(fh)
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"extract"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	time.Sleep(300 * time.Millisecond) // extract reads the line, then blocks
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("extract ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("extract still blocked on its input 10s after the signal")
	}
}
