package source

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"tagpulse/internal/post"
)

func TestFileFolder(t *testing.T) {
	f, err := NewFile([]string{"testdata/files"}, testOptions(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	files, err := f.Files()
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, fi := range files {
		paths = append(paths, fi.Path)
	}
	wantPaths := []string{"testdata/files/posts.jsonl", "testdata/files/sub/note.txt"}
	if !slices.Equal(paths, wantPaths) {
		t.Fatalf("files %v, want %v (lexical, no hidden, no other extensions)", paths, wantPaths)
	}
	items := pollCommit(t, f)
	tests := []struct {
		id      string
		wantErr error
		errHas  string
	}{
		{id: "j1"},
		{wantErr: post.ErrMissingField, errHas: "posts.jsonl:3: field text"},
		{id: "j3"},
		{wantErr: post.ErrInvalidJSON, errHas: "posts.jsonl:5"},
		{wantErr: post.ErrWrongType, errHas: "field id"},
		{id: post.ContentID("file", "note.txt\x00A plain-text post about #Defence")},
	}
	if len(items) != len(tests) {
		t.Fatalf("got %d items, want %d: %+v", len(items), len(tests), items)
	}
	for i, tt := range tests {
		it := items[i]
		if tt.wantErr != nil {
			if !errors.Is(it.Err, tt.wantErr) || !strings.Contains(it.Err.Error(), tt.errHas) {
				t.Errorf("item %d: err %v, want %v naming %q", i, it.Err, tt.wantErr, tt.errHas)
			}
			continue
		}
		if it.Err != nil || it.Post.ID != tt.id {
			t.Errorf("item %d: id %q err %v, want id %q", i, it.Post.ID, it.Err, tt.id)
		}
	}
	if items[0].Post.Author != "ann" || items[0].Post.Source != "file" {
		t.Errorf("first post %+v: want author ann, source file", items[0].Post)
	}
}

// The same files give the same ids however their path is spelled.
func TestFileStableIDs(t *testing.T) {
	abs, err := filepath.Abs("testdata/files/sub/note.txt")
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, p := range []string{"testdata/files/sub/note.txt", "./testdata/files/sub/../sub/note.txt", abs} {
		f, err := NewFile([]string{p}, testOptions(t, nil))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(pollCommit(t, f)))
	}
	for _, g := range got[1:] {
		if !slices.Equal(g, got[0]) {
			t.Fatalf("ids differ between runs: %v", got)
		}
	}
}

// A JSONL archive that grows only emits its new lines; one rewritten
// from the start is read again.
func TestFileCursor(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.jsonl")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	state, err := OpenState(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	run := func() (fresh, dup []string) {
		f, err := NewFile([]string{path}, testOptions(t, state))
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range pollCommit(t, f) {
			if it.Duplicate {
				dup = append(dup, "dup")
			} else {
				fresh = append(fresh, it.Post.ID)
			}
		}
		return fresh, dup
	}
	line := func(id string) string { return `{"id":"` + id + `","text":"#t"}` + "\n" }

	write(line("a") + line("b"))
	if fresh, _ := run(); !slices.Equal(fresh, []string{"a", "b"}) {
		t.Fatalf("first run: %v", fresh)
	}
	if fresh, dup := run(); len(fresh) != 0 || len(dup) != 2 {
		t.Fatalf("second run: new %v, %d duplicates; want none new, 2 duplicates", fresh, len(dup))
	}
	write(line("a") + line("b") + line("c"))
	if fresh, dup := run(); !slices.Equal(fresh, []string{"c"}) || len(dup) != 2 {
		t.Fatalf("after append: new %v, %d duplicates; want [c], 2", fresh, len(dup))
	}
	write(line("x") + line("b") + line("c"))
	if fresh, _ := run(); !slices.Equal(fresh, []string{"x", "b", "c"}) {
		t.Fatalf("after rewrite: new %v, want all three", fresh)
	}
}

func TestFileLimits(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"big.txt":    strings.Repeat("x", 200),
		"bad.txt":    "bad \xff byte",
		"long.jsonl": `{"id":"l","text":"` + strings.Repeat("y", maxLineBytes) + `"}` + "\n" + `{"id":"ok","text":"fine"}` + "\n",
		"empty.txt":  "",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opt := testOptions(t, nil)
	opt.MaxTextBytes = 100
	f, err := NewFile([]string{dir}, opt)
	if err != nil {
		t.Fatal(err)
	}
	items := pollCommit(t, f)
	// Lexical order: bad.txt, big.txt, empty.txt, long.jsonl (2 lines).
	wantErrs := []error{post.ErrInvalidUTF8, post.ErrTooLarge, nil, post.ErrTooLarge, nil}
	if len(items) != len(wantErrs) {
		t.Fatalf("%d items, want %d", len(items), len(wantErrs))
	}
	for i, want := range wantErrs {
		if want == nil && items[i].Err != nil || want != nil && !errors.Is(items[i].Err, want) {
			t.Errorf("item %d: err %v, want %v", i, items[i].Err, want)
		}
	}
	if items[4].Post.ID != "ok" {
		t.Errorf("line after an over-long line: %+v, want post ok", items[4])
	}
}

func TestStateStoreAtomic(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenState(dir)
	if err != nil {
		t.Fatal(err)
	}
	type cur struct{ N int }
	for i := range 3 {
		if err := s.Save("rss-abc", cur{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	var got cur
	ok, err := s.Load("rss-abc", &got)
	if err != nil || !ok || got.N != 2 {
		t.Fatalf("Load: %+v ok=%v err=%v, want N=2", got, ok, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("state dir holds %d files, want 1 (no temp files left)", len(entries))
	}
	if ok, err := s.Load("missing", &got); ok || err != nil {
		t.Errorf("Load(missing) = %v, %v; want false, nil", ok, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("broken", &got); err == nil {
		t.Error("Load of a corrupt cursor succeeded")
	}
}

// Items marked ValidUTF8 are trusted by the runner, which then skips its
// own check: every field of their posts must be valid UTF-8, whatever
// escapes the JSON used, and invalid bytes must be rejected, not marked.
func TestFileValidUTF8(t *testing.T) {
	lines := []string{
		`{"id":"plain","text":"Réarmement #OTAN 北京 🚀","author":"ann","url":"https://e.org/ü","lang":"fr"}`,
		`{"id":"lone-high","text":"a \ud800 b"}`,
		`{"id":"lone-low","text":"a \udc00 b","author":"\ud83d"}`,
		`{"id":"pair","text":"\ud83d\ude80 \u00e9\u0000"}`,
		`{"id":"reversed-pair","text":"\ude80\ud83d"}`,
		"{\"id\":\"raw-bad\",\"text\":\"a \xed\xa0\x80 b\"}",
		"{\"id\":\"ok\",\"text\":\"t\",\"lang\":\"\xc3\"}",
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "q.txt"), []byte("plain text ✓"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := NewFile([]string{dir}, testOptions(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	items := pollCommit(t, f)
	if len(items) != len(lines)+1 {
		t.Fatalf("%d items, want %d", len(items), len(lines)+1)
	}
	valid := 0
	for i, it := range items {
		if it.Err != nil {
			if it.ValidUTF8 || !errors.Is(it.Err, post.ErrInvalidUTF8) {
				t.Errorf("item %d: err %v, ValidUTF8 %v; want invalid_utf8, unmarked", i, it.Err, it.ValidUTF8)
			}
			continue
		}
		if !it.ValidUTF8 {
			t.Errorf("item %d (%s): decoded post not marked ValidUTF8", i, it.Post.ID)
		}
		p := it.Post
		for _, v := range []string{p.ID, p.Text, p.Author, p.URL, p.Lang, p.Source} {
			if !utf8.ValidString(v) {
				t.Errorf("item %d (%s): field %q marked valid but is not UTF-8", i, p.ID, v)
			}
		}
		valid++
	}
	// Lone surrogate escapes (three lines) are refused like raw invalid
	// bytes (two): decoding would have changed them to U+FFFD.
	if valid != 3 {
		t.Errorf("%d valid posts, want 3 (all but the two with raw invalid bytes and the three with lone surrogates)", valid)
	}
}

// TestFileOnce: a source polled once (ingest file) emits the same posts
// and keeps no mark that could skip them.
func TestFileOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.jsonl")
	if err := os.WriteFile(path, []byte(`{"id":"a","text":"#t"}`+"\n"+`{"id":"b","text":"#u"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, once := range []bool{false, true} {
		opt := testOptions(t, nil)
		opt.Once = once
		f, err := NewFile([]string{path}, opt)
		if err != nil {
			t.Fatal(err)
		}
		for poll := 1; poll <= 2; poll++ {
			var ids []string
			for _, it := range pollCommit(t, f) {
				if !it.Duplicate {
					ids = append(ids, it.Post.ID)
				}
			}
			want := []string{"a", "b"}
			if poll == 2 && !once {
				want = nil // the in-memory mark skips what the first poll read
			}
			if !slices.Equal(ids, want) {
				t.Errorf("once=%v, poll %d: new posts %v, want %v", once, poll, ids, want)
			}
		}
	}
}

// A file swapped for a named pipe between listing and reading is refused
// when opened, at once, instead of blocking the open until a writer comes.
func TestOpenRegularRefusesFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "p.jsonl")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		fh, err := openRegular(fifo)
		if err == nil {
			fh.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("openRegular(FIFO) = %v, want ErrNotRegular", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("openRegular blocked on a named pipe")
	}
	if _, err := NewFile([]string{fifo}, Options{}); !errors.Is(err, ErrNotRegular) {
		t.Errorf("NewFile(FIFO) = %v, want ErrNotRegular", err)
	}
}
