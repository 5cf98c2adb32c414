package source

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"tagpulse/internal/post"
)

// maxLineBytes bounds one JSONL line; a longer line is rejected as too
// large without being held in memory.
const maxLineBytes = post.MaxMessageBytes

// Format is how the posts of a file are read; its extension says which.
type Format string

// The formats of files.
const (
	// FormatJSON (.jsonl, .ndjson, .json): one post object per line, or,
	// when the file's first character is '[', one JSON array of post
	// objects, pretty-printed or not.
	FormatJSON Format = "json"
	// FormatCSV (.csv): a header row naming post fields, then one post per
	// row (see readCSV).
	FormatCSV Format = "csv"
	// FormatText (.txt, .text, .md in a folder; any other file named
	// directly): the whole file is one post.
	FormatText Format = "text"
)

// formats maps the extensions a folder contributes to their format; a file
// named directly is read as text when its extension is not here.
var formats = map[string]Format{
	".jsonl": FormatJSON, ".ndjson": FormatJSON, ".json": FormatJSON,
	".csv": FormatCSV,
	".txt": FormatText, ".text": FormatText, ".md": FormatText,
}

// formatOf returns the format of the file at path, and whether a folder
// reads it.
func formatOf(path string) (Format, bool) {
	ft, ok := formats[strings.ToLower(filepath.Ext(path))]
	if !ok {
		return FormatText, false
	}
	return ft, true
}

// utf8BOM is the byte order mark some tools (spreadsheets) start a UTF-8
// file with; it is skipped.
var utf8BOM = []byte("\xef\xbb\xbf")

// fileMark says how much of a file the cursor has seen: the first Offset
// bytes, whose SHA-256 is Sum. A file that still starts with those bytes
// only has new posts after them (JSONL archives grow at the end); a file
// whose start changed is read again from the beginning, and the stable post
// ids keep that harmless downstream.
type fileMark struct {
	Offset int64  `json:"offset"`
	Sum    string `json:"sha256"`
}

type fileCursor struct {
	Files map[string]fileMark `json:"files,omitempty"`
}

// File reads posts from JSON files (one post object per line, or one
// array of them), CSV files with a header row, and plain-text files (one
// post per file), and from folders of them, recursively in lexical order.
type File struct {
	paths  []string
	opt    Options
	cursor *cursor[fileCursor]
	// Progress, when set, is called with the bytes read so far.
	Progress func(bytesRead int64)
}

// NewFile returns a source over paths (files or folders). A path that
// exists but is neither a regular file nor a folder (a named pipe, a
// device, a socket) is refused: reading one could block forever.
func NewFile(paths []string, opt Options) (*File, error) {
	if len(paths) == 0 {
		return nil, errors.New("file source: no paths")
	}
	for _, p := range paths {
		if info, err := os.Stat(p); err == nil && !info.IsDir() && !info.Mode().IsRegular() {
			return nil, fmt.Errorf("file source %s: %w", p, notRegular(info.Mode()))
		}
	}
	opt.defaults(KindFile)
	c, err := loadCursor[fileCursor](opt.State, StateKey(KindFile, strings.Join(paths, "\x00")))
	if err != nil {
		return nil, err
	}
	return &File{paths: paths, opt: opt, cursor: c}, nil
}

// ErrNotRegular is wrapped by the error for a path that is neither a
// regular file nor a folder.
var ErrNotRegular = errors.New("not a regular file")

// notRegular says what kind of file mode m is, wrapping ErrNotRegular.
func notRegular(m fs.FileMode) error {
	kind := "special file"
	switch {
	case m&fs.ModeNamedPipe != 0:
		kind = "named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		kind = "socket"
	case m&fs.ModeDevice != 0:
		kind = "device"
	}
	return fmt.Errorf("a %s, %w: give a regular file or a folder", kind, ErrNotRegular)
}

// Name implements Source.
func (f *File) Name() string { return f.opt.Name }

// FileInfo is one file a File source reads, or one it passes over.
type FileInfo struct {
	Path   string
	Size   int64
	Format Format
	// Skip, when set, says why a file of a folder is not read (a named
	// pipe, a link to a folder): Poll reports it as a rejected item
	// (invalid_value) rather than passing over it without a word.
	Skip error
}

// Files lists the files the source reads, in order. Inside folders,
// symbolic links to regular files are followed; links to folders (which
// could loop) and special files are listed with Skip set.
func (f *File) Files() ([]FileInfo, error) {
	var out []FileInfo
	for _, root := range f.paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, &FetchError{Reason: ReasonIO, Err: err}
		}
		if !info.IsDir() {
			if !info.Mode().IsRegular() {
				return nil, &FetchError{Reason: ReasonIO, Err: fmt.Errorf("reading %s: %w", root, notRegular(info.Mode()))}
			}
			ft, _ := formatOf(root)
			out = append(out, FileInfo{Path: root, Size: info.Size(), Format: ft})
			continue
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			hidden := path != root && strings.HasPrefix(d.Name(), ".")
			if d.IsDir() {
				if hidden {
					return filepath.SkipDir
				}
				return nil
			}
			ft, read := formatOf(path)
			if hidden || !read {
				return nil
			}
			fi, err := os.Stat(path) // follows a symbolic link
			if err != nil {
				out = append(out, FileInfo{Path: path, Skip: fmt.Errorf("%v: %w", err, post.ErrInvalidValue)})
				return nil
			}
			switch {
			case fi.IsDir():
				out = append(out, FileInfo{Path: path, Skip: fmt.Errorf("%s: a link to a folder, not followed: %w", path, post.ErrInvalidValue)})
			case !fi.Mode().IsRegular():
				out = append(out, FileInfo{Path: path, Skip: fmt.Errorf("%s: %v: %w", path, notRegular(fi.Mode()), post.ErrInvalidValue)})
			default:
				out = append(out, FileInfo{Path: path, Size: fi.Size(), Format: ft})
			}
			return nil
		})
		if err != nil {
			return nil, &FetchError{Reason: ReasonIO, Err: fmt.Errorf("listing %s: %w", root, err)}
		}
	}
	return out, nil
}

// Poll implements Source.
func (f *File) Poll(ctx context.Context, emit Emit) (Result, error) {
	files, err := f.Files()
	if err != nil {
		return Result{}, err
	}
	next := fileCursor{Files: make(map[string]fileMark, len(files))}
	var done int64
	for _, fi := range files {
		if fi.Skip != nil {
			if err := emit(Item{Err: fi.Skip, File: fi.Path}); err != nil {
				return Result{}, err
			}
			continue
		}
		key, err := filepath.Abs(fi.Path)
		if err != nil {
			key = fi.Path
		}
		mark, err := f.readFile(ctx, fi, f.cursor.value.Files[key], emit, func(n int64) {
			if f.Progress != nil {
				f.Progress(done + n)
			}
		})
		if err != nil {
			return Result{}, err
		}
		done += fi.Size
		next.Files[key] = mark
	}
	return Result{Commit: f.cursor.commit(next)}, nil
}

// readFile emits the posts of one file and returns its new mark.
func (f *File) readFile(ctx context.Context, fi FileInfo, prev fileMark, emit Emit, progress func(int64)) (fileMark, error) {
	fh, err := openRegular(fi.Path)
	if err != nil {
		return fileMark{}, &FetchError{Reason: ReasonIO, Err: err}
	}
	defer fh.Close()
	seenUpTo, err := matchPrefix(fh, prev)
	if err != nil {
		return fileMark{}, &FetchError{Reason: ReasonIO, Err: fmt.Errorf("reading %s: %w", fi.Path, err)}
	}
	if fi.Format == FormatText {
		return f.readText(fh, fi.Path, seenUpTo, emit, progress)
	}
	return f.readPosts(ctx, fh, fi, seenUpTo, emit, progress)
}

// openRegular opens path for reading without blocking, and refuses it
// unless it is a regular file: a file swapped for a named pipe after it was
// listed would otherwise block the open, or the first read, until a writer
// comes, deaf to shutdown.
func openRegular(path string) (*os.File, error) {
	fh, err := os.OpenFile(path, os.O_RDONLY|openNonBlock, 0)
	if err != nil {
		return nil, err
	}
	info, err := fh.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("reading %s: %w", path, notRegular(info.Mode()))
	}
	if err != nil {
		fh.Close()
		return nil, err
	}
	return fh, nil
}

// matchPrefix reports how many leading bytes of fh the cursor has seen: the
// mark's offset when the file still starts with the same bytes, else 0. It
// leaves fh at the start.
func matchPrefix(fh *os.File, m fileMark) (int64, error) {
	if m.Offset <= 0 {
		return 0, nil
	}
	h := sha256.New()
	n, err := io.CopyN(h, fh, m.Offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	if n != m.Offset || hex.EncodeToString(h.Sum(nil)) != m.Sum {
		return 0, nil
	}
	return m.Offset, nil
}

// readPosts emits the posts of a JSON or CSV file and returns its new mark.
func (f *File) readPosts(ctx context.Context, r io.Reader, fi FileInfo, seenUpTo int64, emit Emit, progress func(int64)) (fileMark, error) {
	var h hash.Hash
	if !f.opt.Once {
		h = sha256.New()
		r = io.TeeReader(r, h)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var base int64
	if b, _ := br.Peek(len(utf8BOM)); bytes.Equal(b, utf8BOM) {
		br.Discard(len(utf8BOM)) // bytes already peeked at: cannot fail
		base = int64(len(utf8BOM))
	}
	var (
		offset int64
		err    error
	)
	switch {
	case fi.Format == FormatCSV:
		offset, err = f.readCSV(ctx, br, fi.Path, base, seenUpTo, emit, progress)
	case firstNonSpace(br) == '[':
		offset, err = f.readArray(ctx, br, fi.Path, base, seenUpTo, emit, progress)
	default:
		offset, err = f.readJSONL(ctx, br, fi.Path, base, seenUpTo, emit, progress)
	}
	if err != nil {
		return fileMark{}, err
	}
	// Each reader drains the file to its end, so h has seen exactly the
	// first offset bytes.
	if h == nil {
		return fileMark{Offset: offset}, nil
	}
	return fileMark{Offset: offset, Sum: hex.EncodeToString(h.Sum(nil))}, nil
}

// firstNonSpace returns the first byte of br that is not JSON white space
// without reading it, or 0 when there is none within br's buffer.
func firstNonSpace(br *bufio.Reader) byte {
	b, _ := br.Peek(br.Size())
	if b = trimSpace(b); len(b) == 0 {
		return 0
	}
	return b[0]
}

// decode decodes one post of a JSON file, found at path:line; what (the
// element of an array, or empty) goes before the reason of an error.
func (f *File) decode(data []byte, path string, line int, what string) Item {
	it := Item{File: path, Line: line}
	p, err := post.DecodePost(data, post.DecodeOptions{MaxTextBytes: f.opt.MaxTextBytes, Now: f.opt.Now})
	if err != nil {
		it.Err = fmt.Errorf("%s:%d: %s%w", path, line, what, err)
		return it
	}
	if p.Source == "" {
		p.Source = f.opt.Name
	}
	it.Post, it.ValidUTF8 = p, true
	return it
}

// readJSONL emits the posts of a file of one JSON object per line, from
// offset base of br on, and returns the offset of the file's end.
func (f *File) readJSONL(ctx context.Context, br *bufio.Reader, path string, base, seenUpTo int64, emit Emit, progress func(int64)) (int64, error) {
	offset := base
	var long []byte
	for lineNo := 1; ; lineNo++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		line, n, tooLong, err := readLine(br, &long)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, &FetchError{Reason: ReasonIO, Err: fmt.Errorf("reading %s: %w", path, err)}
		}
		end := offset + n
		if !tooLong && len(bytes.TrimSpace(line)) == 0 {
			if errors.Is(err, io.EOF) {
				break
			}
			offset = end
			continue
		}
		it := Item{File: path, Line: lineNo}
		switch {
		case end <= seenUpTo:
			it.Duplicate = true
		case tooLong:
			it.Err = fmt.Errorf("%s:%d: line over %d bytes: %w", path, lineNo, maxLineBytes, post.ErrTooLarge)
		default:
			it = f.decode(line, path, lineNo, "")
		}
		if eerr := emit(it); eerr != nil {
			return 0, eerr
		}
		offset = end
		progress(offset)
		if errors.Is(err, io.EOF) {
			break
		}
	}
	// A last line without its newline may still be being written: it is
	// read (and published) now, and the mark covers it, so a rewrite of it
	// reads the file again rather than publishing half a post as new.
	return offset, nil
}

// readLine returns the next line without its newline, the bytes it took
// from the input (newline included), and whether it was over maxLineBytes
// (then its content is dropped). A line that fits the reader's buffer is
// returned in place, valid until the next read (decoding copies what it
// keeps); a longer one is gathered in *long, which is reused.
func readLine(br *bufio.Reader, long *[]byte) (line []byte, n int64, tooLong bool, err error) {
	chunk, err := br.ReadSlice('\n')
	n = int64(len(chunk))
	if !errors.Is(err, bufio.ErrBufferFull) {
		return bytes.TrimRight(chunk, "\r\n"), n, false, err
	}
	buf := append((*long)[:0], chunk...)
	for errors.Is(err, bufio.ErrBufferFull) {
		chunk, err = br.ReadSlice('\n')
		n += int64(len(chunk))
		if !tooLong {
			if len(buf)+len(chunk) > maxLineBytes+1 {
				tooLong, buf = true, buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
	}
	*long = buf[:0]
	if tooLong {
		return nil, n, true, err
	}
	return bytes.TrimRight(buf, "\r\n"), n, false, err
}

// readText emits a plain-text file as one post. Its id comes from the
// file's base name and content, so the same file gives the same id however
// its path is spelled and from wherever ingest runs.
func (f *File) readText(fh *os.File, path string, seenUpTo int64, emit Emit, progress func(int64)) (fileMark, error) {
	info, err := fh.Stat()
	if err != nil {
		return fileMark{}, &FetchError{Reason: ReasonIO, Err: err}
	}
	limit := int64(f.opt.MaxTextBytes)
	data, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return fileMark{}, &FetchError{Reason: ReasonIO, Err: fmt.Errorf("reading %s: %w", path, err)}
	}
	sum := sha256.Sum256(data)
	mark := fileMark{Offset: int64(len(data)), Sum: hex.EncodeToString(sum[:])}
	progress(info.Size())
	it := Item{File: path}
	text := strings.TrimSpace(strings.TrimPrefix(string(data), "\uFEFF"))
	switch {
	case seenUpTo == mark.Offset && mark.Offset > 0:
		it.Duplicate = true
	case int64(len(data)) > limit:
		it.Err = fmt.Errorf("%s: text over %d bytes: %w", path, limit, post.ErrTooLarge)
	case !utf8.ValidString(text):
		it.Err = fmt.Errorf("%s: %w", path, post.ErrInvalidUTF8)
	default:
		it.Post = post.Post{
			ID:        post.ContentID(KindFile, filepath.Base(path)+"\x00"+text),
			Text:      text,
			CreatedAt: info.ModTime().UTC().Truncate(time.Second),
			Source:    KindFile,
		}
		it.ValidUTF8 = true
	}
	return mark, emit(it)
}
