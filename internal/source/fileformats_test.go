package source

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/post"
)

// outcome sums up an item: the post's id, or the reason and line of its
// rejection.
func outcome(it Item) string {
	if it.Err != nil {
		return fmt.Sprintf("%s@%d", post.Reason(it.Err), it.Line)
	}
	return it.Post.ID
}

// TestFileFormats reads each shape of export in testdata/formats: what
// becomes a post, and what is rejected where, and why.
func TestFileFormats(t *testing.T) {
	tests := []struct {
		file   string
		want   []string
		errHas []string // in the errors, in order
	}{
		{"array-pretty.json", []string{"a1", "missing_field@9", "a3", "invalid_json@14", "a5"},
			[]string{"array-pretty.json:9: element 2: field text", "array-pretty.json:14: element 4: post is not a JSON object"}},
		{"array-compact-bom.json", []string{"c1", "c2"}, nil},
		{"array-empty.json", nil, nil},
		{"array-trailing-comma.json", []string{"t1", "invalid_json@1"}, []string{"a ',' after element 1 ends the array"}},
		{"array-unclosed.json", []string{"u1", "u2", "invalid_json@3"}, []string{"no closing ']'"}},
		{"array-then-more.json", []string{"j1", "invalid_json@2"}, []string{`'{' after the array's closing ']'`}},
		{"array-empty-element.json", []string{"e1", "invalid_json@1", "invalid_json@1"}, []string{"element 2 is empty", "element 3: "}},
		{"lines-bom.jsonl", []string{"l1"}, nil},
		{"posts.csv", []string{"c1", "c2", "invalid_value@5", "invalid_value@6", "c5"},
			[]string{`posts.csv:5: field created_at: not RFC 3339 (like "2025-11-05T09:00:00Z")`, "posts.csv:6: 2 fields, the header has 7"}},
		{"bom-crlf.csv", []string{"b1"}, nil},
		{"no-id-column.csv", []string{"missing_field@1"}, []string{`no-id-column.csv:1: CSV header "title,body" must name the columns id and text`}},
		{"unclosed-quote.csv", []string{"q1", "invalid_value@3"}, []string{`extraneous or missing " in quoted-field`}},
		{"bare-quote.csv", []string{"invalid_value@2", "r2"}, []string{`bare-quote.csv:2: CSV: extraneous or missing " in quoted-field`}},
		// Tombstones, visibility and indexable: the source reads them; the
		// runner publishes the tombstones and skips the posts that are not
		// public. A visibility the format does not know is rejected.
		{"signals.jsonl", []string{"s1", "s1", "s2", "s3", "s4", "invalid_value@6", "missing_field@7", "wrong_type@8"},
			[]string{`signals.jsonl:6: field visibility: "friends" is none of`, "signals.jsonl:7: field id: missing field", "signals.jsonl:8: field deleted"}},
		{"signals.json", []string{"s1", "s2"}, nil},
		{"signals.csv", []string{"s1", "s1", "s2", "s3", "s4", "invalid_value@7"}, []string{`signals.csv:7: field indexable: "maybe" is not a boolean`}},
		{"deletions.csv", []string{"d1", "d2"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := NewFile([]string{filepath.Join("testdata", "formats", tt.file)}, testOptions(t, nil))
			if err != nil {
				t.Fatal(err)
			}
			items := pollCommit(t, f)
			var got, errs []string
			for _, it := range items {
				got = append(got, outcome(it))
				if it.Err != nil {
					errs = append(errs, it.Err.Error())
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("items %q, want %q\nerrors: %q", got, tt.want, errs)
			}
			for i, has := range tt.errHas {
				if i >= len(errs) || !strings.Contains(errs[i], has) {
					t.Errorf("errors %q: error %d should say %q", errs, i, has)
				}
			}
		})
	}
}

// The fields of the posts of a JSON array and of a CSV file are those of a
// JSONL line.
func TestFileFormatsFields(t *testing.T) {
	f, err := NewFile([]string{"testdata/formats/array-pretty.json", "testdata/formats/posts.csv"}, testOptions(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]post.Post{}
	for _, it := range pollCommit(t, f) {
		if it.Err == nil {
			byID[it.Post.ID] = it.Post
		}
	}
	checks := []struct {
		id, field, got, want string
	}{
		{"a1", "text", byID["a1"].Text, `Brackets ] and commas , in a string, and an escaped " quote #OTAN`},
		{"a1", "hashtags", strings.Join(byID["a1"].Tags, "|"), "#nato|Réarmement"},
		{"a1", "source", byID["a1"].Source, "file"},
		{"a3", "source", byID["a3"].Source, "export"},
		{"c1", "text", byID["c1"].Text, "First #OTAN post, with a comma"},
		{"c1", "author", byID["c1"].Author, "ann"},
		{"c1", "hashtags", strings.Join(byID["c1"].Tags, "|"), "#nato|Réarmement"},
		{"c1", "created_at", byID["c1"].CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), "2025-11-06T10:00:00Z"},
		{"c2", "text", byID["c2"].Text, "A \"quoted\" post\non two lines #two"},
		{"c2", "created_at", byID["c2"].CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), "2025-11-06T09:01:00Z"},
		{"c5", "hashtags", strings.Join(byID["c5"].Tags, "|"), "defence|drones"},
		{"c5", "created_at (none: the runner's now)", fmt.Sprint(byID["c5"].CreatedAt.IsZero()), "true"},
		{"c5", "lang", byID["c5"].Lang, "en"},
		{"c5", "source", byID["c5"].Source, "file"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s %s = %q, want %q", c.id, c.field, c.got, c.want)
		}
	}
}

// The signals of a post (a tombstone, its visibility, whether it may be
// indexed) read alike from JSONL, JSON arrays and CSV.
func TestFileFormatsSignals(t *testing.T) {
	type signals struct {
		deleted    bool
		created    string // RFC 3339, "" when none
		text       string
		visibility string
		indexable  string // "", "true", "false"
	}
	sig := func(p post.Post) signals {
		s := signals{deleted: p.Deleted, text: p.Text, visibility: p.Visibility}
		if !p.CreatedAt.IsZero() {
			s.created = p.CreatedAt.UTC().Format(time.RFC3339)
		}
		if p.Indexable != nil {
			s.indexable = fmt.Sprint(*p.Indexable)
		}
		return s
	}
	want := []signals{
		{created: "2025-11-06T10:00:00Z", text: "A public post #OTAN"},
		{deleted: true},
		{deleted: true, created: "2025-11-06T09:00:00Z"},
		{created: "2025-11-06T10:01:00Z", text: "An unlisted post #OTAN", visibility: "unlisted"},
		{created: "2025-11-06T10:02:00Z", text: "Counted, not shown #OTAN", indexable: "false"},
	}
	for _, file := range []string{"signals.jsonl", "signals.csv"} {
		t.Run(file, func(t *testing.T) {
			f, err := NewFile([]string{filepath.Join("testdata", "formats", file)}, testOptions(t, nil))
			if err != nil {
				t.Fatal(err)
			}
			var got []signals
			for _, it := range pollCommit(t, f) {
				if it.Err == nil {
					s := sig(it.Post)
					if s.deleted {
						s.text = "" // not read: the runner drops it
					}
					got = append(got, s)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("read\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// An element or a CSV row over the bound of a line is rejected without
// being held, and the ones after it are read.
func TestFileFormatsBounds(t *testing.T) {
	dir := t.TempDir()
	big := strings.Repeat("x", maxLineBytes)
	files := map[string]string{
		"big.json": `[{"id":"b1","text":"` + big + `"},` + "\n" + `{"id":"b2","text":"#ok"}]`,
		"big.csv":  "id,text\nb1," + big + "\nb2,#ok\n",
		"open.csv": "id,text\nb1,\"" + big + big + "\n",
	}
	want := map[string][]string{
		"big.json": {"too_large@1", "b2"},
		"big.csv":  {"too_large@2", "b2"},
		"open.csv": {"too_large@2"},
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := NewFile([]string{path}, testOptions(t, nil))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range pollCommit(t, f) {
			got = append(got, outcome(it))
		}
		if !slices.Equal(got, want[name]) {
			t.Errorf("%s: items %q, want %q", name, got, want[name])
		}
	}
}

// A folder reads .csv and .json files as it reads .jsonl ones, and a file
// unchanged since the last poll gives only duplicates, its faults too.
func TestFileFormatsCursor(t *testing.T) {
	dir := t.TempDir()
	state, err := OpenState(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"array-pretty.json", "posts.csv", "array-trailing-comma.json", "no-id-column.csv"} {
		b := readTestdata(t, "formats/"+name)
		if err := os.WriteFile(filepath.Join(data, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func() (fresh []string, dup int) {
		f, err := NewFile([]string{data}, testOptions(t, state))
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range pollCommit(t, f) {
			if it.Duplicate {
				dup++
			} else {
				fresh = append(fresh, outcome(it))
			}
		}
		return fresh, dup
	}
	// The faults of a file (a trailing comma, a header without id) are
	// reported once, like its posts.
	if fresh, _ := run(); len(fresh) != 13 {
		t.Fatalf("first poll: %q, want the 13 items of the files", fresh)
	}
	if fresh, dup := run(); len(fresh) != 0 || dup != 13 {
		t.Fatalf("second poll: new %q, %d duplicates; want none new, 13 duplicates", fresh, dup)
	}
}

// FuzzFileFormats reads arbitrary bytes as a JSON file and as a CSV file:
// the reading never fails or panics, and every rejection wraps one of the
// documented reasons.
func FuzzFileFormats(f *testing.F) {
	for _, name := range []string{"array-pretty.json", "array-empty-element.json", "array-unclosed.json", "posts.csv", "bare-quote.csv", "unclosed-quote.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", "formats", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		for _, name := range []string{"f.json", "f.csv"} {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			src, err := NewFile([]string{path}, testOptions(t, nil))
			if err != nil {
				t.Fatal(err)
			}
			items, _, err := poll(t, src)
			if err != nil {
				t.Fatalf("%s: poll: %v", name, err)
			}
			for _, it := range items {
				if it.Err != nil && post.Reason(it.Err) == "other" {
					t.Fatalf("%s: rejection without a reason: %v", name, it.Err)
				}
			}
		}
	})
}
