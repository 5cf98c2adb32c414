package ingestcli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"tagpulse/internal/ingest"
	"tagpulse/internal/post"
	"tagpulse/internal/source"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestRunExtract runs `ingest extract` on testdata/NAME.in and compares
// stdout with NAME.out and stderr plus the returned error with NAME.err.
func TestRunExtract(t *testing.T) {
	for _, name := range []string{"plain", "jsonl", "bad", "fields", "signals"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", name+".in"))
			if err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			if err := runExtract(bytes.NewReader(in), &out, &errOut); err != nil {
				errOut.WriteString("error: " + err.Error() + "\n")
			}
			golden(t, name+".out", out.String())
			golden(t, name+".err", errOut.String())
		})
	}
}

func golden(t *testing.T, file, got string) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs\n got:\n%s\n want:\n%s", path, got, want)
	}
}

func TestRunExtractLines(t *testing.T) {
	sum := sha256.Sum256([]byte("#Tag"))
	textID := "text:" + hex.EncodeToString(sum[:])[:32]
	long := "#long " + strings.Repeat("x", maxLineBytes)
	tests := []struct {
		name, in, out, errOut, err string
	}{
		{"empty input", "", "", "", ""},
		{"plain text id is a hash of the line", "#Tag\n",
			`{"id":"` + textID + `","hashtags":[{"tag":"tag","display":"Tag"}]}` + "\n", "", ""},
		{"no final newline", "#Tag",
			`{"id":"` + textID + `","hashtags":[{"tag":"tag","display":"Tag"}]}` + "\n", "", ""},
		{"CRLF", "#Tag\r\n",
			`{"id":"` + textID + `","hashtags":[{"tag":"tag","display":"Tag"}]}` + "\n", "", ""},
		{"no tags is an empty array", `{"id":"a","text":"none"}`, `{"id":"a","hashtags":[]}` + "\n", "", ""},
		{"HTML characters not escaped", `{"id":"<&>","text":"#a"}`, `{"id":"<&>","hashtags":[{"tag":"a","display":"a"}]}` + "\n", "", ""},
		{"longer line fails alone", long + "\n" + `{"id":"b","text":"#b"}` + "\n",
			`{"id":"b","hashtags":[{"tag":"b","display":"b"}]}` + "\n",
			"line 1: longer than 1048576 bytes\n", "1 of 2 lines failed"},
		{"longer last line", `{"id":"b","text":"#b"}` + "\n" + long,
			`{"id":"b","hashtags":[{"tag":"b","display":"b"}]}` + "\n",
			"line 2: longer than 1048576 bytes\n", "1 of 2 lines failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runExtract(strings.NewReader(tt.in), &out, &errOut)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.err {
				t.Errorf("error = %q, want %q", gotErr, tt.err)
			}
			if out.String() != tt.out {
				t.Errorf("stdout\n got  %.200q\n want %q", out.String(), tt.out)
			}
			if errOut.String() != tt.errOut {
				t.Errorf("stderr\n got  %q\n want %q", errOut.String(), tt.errOut)
			}
		})
	}
}

// A line of the maximum length is read whole, then held to the bound on
// a post's text that ingest applies: the line bound does not cut it.
func TestRunExtractLineOfMaxLength(t *testing.T) {
	in := "#ok " + strings.Repeat("y", maxLineBytes-4) + "\r\n#next\n"
	var out, errOut bytes.Buffer
	err := runExtract(strings.NewReader(in), &out, &errOut)
	if err == nil || err.Error() != "1 of 2 lines failed" {
		t.Fatalf("runExtract: %v, want 1 of 2 lines failed", err)
	}
	if want := fmt.Sprintf("line 1: field text: %d bytes, limit %d: too large\n", maxLineBytes, post.MaxTextBytes); errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut.String(), want)
	}
	if !strings.HasSuffix(out.String(), `"hashtags":[{"tag":"next","display":"next"}]}`+"\n") {
		t.Errorf("stdout %.200q, want the tag next", out.String())
	}
}

func TestExtractCmd(t *testing.T) {
	cmd := newExtractCmd()
	var out, errOut bytes.Buffer
	cmd.SetIn(strings.NewReader("{\"id\":\"a\",\"text\":\"hashtag#NIF2025\"}\n{bad\n"))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{})
	err := cmd.Execute()
	if err == nil || err.Error() != "1 of 2 lines failed" {
		t.Errorf("Execute() = %v, want 1 of 2 lines failed", err)
	}
	if want := `{"id":"a","hashtags":[{"tag":"nif2025","display":"NIF2025"}]}` + "\n"; out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
	if !strings.HasPrefix(errOut.String(), "line 2: ") || !strings.Contains(errOut.String(), "invalid JSON") {
		t.Errorf("stderr %q, want line 2: …invalid JSON", errOut.String())
	}
}

// recorder is a publisher that keeps what it is given.
type recorder struct{ got []post.Message }

func (r *recorder) Publish(_ context.Context, msgs []post.Message) (int, error) {
	r.got = append(r.got, msgs...)
	return len(msgs), nil
}

// TestExtractAgreesWithFile runs the same posts through `ingest extract`
// and through what `ingest file` does (a file source and the ingest
// runner): the same posts pass, with the same tags, and the same are
// refused.
func TestExtractAgreesWithFile(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "fields.in"))
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	_ = runExtract(bytes.NewReader(in), &out, &errOut)
	extracted := out.String()

	path := filepath.Join(t.TempDir(), "fields.jsonl")
	if err := os.WriteFile(path, in, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := source.NewFile([]string{path}, source.Options{Name: source.KindFile, Once: true})
	if err != nil {
		t.Fatal(err)
	}
	pub := &recorder{}
	r := ingest.New(ingest.DefaultConfig(), pub, ingest.Hashtags, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	_, stats, err := r.Poll(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	var published strings.Builder
	enc := json.NewEncoder(&published)
	enc.SetEscapeHTML(false)
	for _, m := range pub.got {
		if err := enc.Encode(extractOutput{ID: m.ID, Hashtags: m.Hashtags}); err != nil {
			t.Fatal(err)
		}
	}
	if published.String() != extracted {
		t.Errorf("ingest file published\n%s\ningest extract printed\n%s", published.String(), extracted)
	}
	if rejected := strings.Count(errOut.String(), "line "); stats.RejectedTotal() != rejected || rejected == 0 {
		t.Errorf("ingest file rejected %d posts, extract %d lines (%s)", stats.RejectedTotal(), rejected, errOut.String())
	}
}
