package source

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"tagpulse/internal/post"
)

// A CSV file (RFC 4180, as spreadsheets export it) starts with a header
// row that names its columns; each later row is one post. The columns that
// name a post field are read, matched without regard to case or
// surrounding space: id and text (required; text may be left out of a file
// that has the deleted column), created_at (RFC 3339, as in JSON), author,
// lang, source, url, hashtags (the producer's tags, separated by spaces or
// commas), visibility, indexable and deleted (booleans as
// strconv.ParseBool reads them, true/false, TRUE/FALSE, 1/0; empty: not
// given). A row whose deleted is true is a tombstone: only its id and
// created_at are read. Other columns are ignored. Each row is held to the
// bound of a JSONL line.

// csvFields are the columns a CSV file may give, by post field.
var csvFields = []string{"id", "text", "created_at", "author", "lang", "source", "url", "hashtags", "visibility", "indexable", "deleted"}

// errRowTooLarge stops the reading of a CSV row over maxLineBytes.
var errRowTooLarge = errors.New("row too large")

// rowLimit hands the CSV reader its input and fails once a row has taken
// more than maxLineBytes (and the reader's look-ahead) from it, so that an
// unclosed quote cannot pull a whole file into memory.
type rowLimit struct {
	r     io.Reader
	n     int64 // bytes handed over
	limit int64
}

func (l *rowLimit) Read(p []byte) (int, error) {
	if l.n >= l.limit {
		return 0, errRowTooLarge
	}
	p = p[:min(int64(len(p)), l.limit-l.n)]
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}

// readCSV emits the posts of a CSV file from offset base of br on, and
// returns the offset of the file's end. A header without the id or text
// column rejects the whole file, as one item; a row that breaks the CSV
// syntax, or has another number of fields than the header, is rejected
// alone.
func (f *File) readCSV(ctx context.Context, br *bufio.Reader, path string, base, seenUpTo int64, emit Emit, progress func(int64)) (int64, error) {
	const lookAhead = 64 << 10 // more than csv.Reader's buffer
	lim := &rowLimit{r: br, limit: maxLineBytes + lookAhead}
	cr := csv.NewReader(lim)
	cr.FieldsPerRecord = -1 // checked below, with a clearer error
	// rest drains the file after a fault that ends the reading, and
	// returns its end.
	rest := func(line int, err error) (int64, error) {
		n, cerr := io.Copy(io.Discard, br)
		if cerr != nil {
			return 0, &FetchError{Reason: ReasonIO, Err: fmt.Errorf("reading %s: %w", path, cerr)}
		}
		end := base + lim.n + n
		it := Item{File: path, Line: line, Err: err}
		if end <= seenUpTo { // reported when the cursor's part was read
			it = Item{File: path, Line: line, Duplicate: true}
		}
		if eerr := emit(it); eerr != nil {
			return 0, eerr
		}
		return end, nil
	}
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return base, nil // an empty file holds no posts
	}
	if err != nil {
		return rest(1, fmt.Errorf("%s:1: reading the CSV header: %v: %w", path, err, post.ErrInvalidValue))
	}
	col, err := csvColumns(header)
	if err != nil {
		return rest(1, fmt.Errorf("%s:1: %w", path, err))
	}
	lastLine := 1 // of the last row read
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		lim.limit = lim.n + maxLineBytes + lookAhead
		start := cr.InputOffset()
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var perr *csv.ParseError
		line := lastLine + 1 // a guess when the row could not be read
		switch {
		case err == nil:
			line, _ = cr.FieldPos(0)
			lastLine = line
		case errors.As(err, &perr):
			line = perr.StartLine
		}
		switch {
		case errors.Is(err, errRowTooLarge):
			return rest(line, fmt.Errorf("%s:%d: CSV row over %d bytes (an unclosed quote?): the rest of the file is not read: %w", path, line, maxLineBytes, post.ErrTooLarge))
		case err != nil && !errors.As(err, &perr):
			return 0, &FetchError{Reason: ReasonIO, Err: fmt.Errorf("reading %s: %w", path, err)}
		}
		it := Item{File: path, Line: line}
		switch end := base + cr.InputOffset(); {
		case end <= seenUpTo:
			it.Duplicate = true
		case end-base-start > maxLineBytes+2: // "\r\n" is not counted
			it.Err = fmt.Errorf("%s:%d: CSV row over %d bytes: %w", path, line, maxLineBytes, post.ErrTooLarge)
		case perr != nil:
			it.Err = fmt.Errorf("%s:%d: CSV: %v: %w", path, line, perr.Err, post.ErrInvalidValue)
		case len(row) != len(header):
			it.Err = fmt.Errorf("%s:%d: %d fields, the header has %d: %w", path, line, len(row), len(header), post.ErrInvalidValue)
		default:
			it.Post, it.Err = csvPost(row, col)
			if it.Post.Source == "" {
				it.Post.Source = f.opt.Name
			}
			if it.Err != nil {
				it.Err = fmt.Errorf("%s:%d: %w", path, line, it.Err)
			}
		}
		if eerr := emit(it); eerr != nil {
			return 0, eerr
		}
		progress(base + cr.InputOffset())
	}
	return base + cr.InputOffset(), nil
}

// csvColumns maps each field of csvFields to its column in header, or -1.
func csvColumns(header []string) (map[string]int, error) {
	col := make(map[string]int, len(csvFields))
	for _, name := range csvFields {
		col[name] = -1
	}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if j, ok := col[name]; ok {
			if j >= 0 {
				return nil, fmt.Errorf("CSV header names column %q twice: %w", name, post.ErrInvalidValue)
			}
			col[name] = i
		}
	}
	if col["id"] < 0 || col["text"] < 0 && col["deleted"] < 0 {
		return nil, fmt.Errorf("CSV header %q must name the columns id and text, or id and deleted (and may name %s): %w",
			strings.Join(header, ","), strings.Join(csvFields[2:], ", "), post.ErrMissingField)
	}
	return col, nil
}

// csvPost builds the post of a row. Its fields are checked by the runner,
// as every post is (ingest.Config.CheckPost).
func csvPost(row []string, col map[string]int) (post.Post, error) {
	get := func(name string) string {
		if i := col[name]; i >= 0 {
			return row[i]
		}
		return ""
	}
	p := post.Post{
		ID: get("id"), Text: get("text"), Author: get("author"), Lang: get("lang"),
		Source: get("source"), URL: get("url"), Visibility: strings.TrimSpace(get("visibility")),
		Tags: strings.FieldsFunc(get("hashtags"), func(r rune) bool { return r == ',' || unicode.IsSpace(r) }),
	}
	if v := strings.TrimSpace(get("created_at")); v != "" {
		t, err := post.ParseCreatedAt(v)
		if err != nil {
			return post.Post{}, err
		}
		p.CreatedAt = t
	}
	for _, f := range []struct {
		name string
		set  func(bool)
	}{
		{"deleted", func(b bool) { p.Deleted = b }},
		{"indexable", func(b bool) { p.Indexable = &b }},
	} {
		v := strings.TrimSpace(get(f.name))
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return post.Post{}, fmt.Errorf("field %s: %q is not a boolean (true or false): %w", f.name, v, post.ErrInvalidValue)
		}
		f.set(b)
	}
	return p, nil
}
