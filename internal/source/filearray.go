package source

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"tagpulse/internal/post"
)

// A JSON file whose first character is '[' holds one array of posts,
// pretty-printed or not: what many export tools write. The array is read
// one element at a time, never whole, and each element is held to the
// bound of a JSONL line (maxLineBytes); an element over it is rejected
// without being kept in memory, and the others are read on.

// arrayScanner splits the JSON array that br holds into its elements,
// following strings and nesting but leaving the syntax of an element to
// the post decoder.
type arrayScanner struct {
	br   *bufio.Reader
	n    int64 // bytes read from br
	line int   // the line of the next byte, from 1
	buf  []byte
	long bool // the element being read is over maxLineBytes
}

func (s *arrayScanner) next() (byte, error) {
	c, err := s.br.ReadByte()
	if err != nil {
		return 0, err
	}
	s.n++
	if c == '\n' {
		s.line++
	}
	return c, nil
}

// keep adds c to the element being read, within the bound.
func (s *arrayScanner) keep(c byte) {
	if s.long {
		return
	}
	if len(s.buf) >= maxLineBytes {
		s.long, s.buf = true, s.buf[:0]
		return
	}
	s.buf = append(s.buf, c)
}

// space returns the next byte that is not JSON white space.
func (s *arrayScanner) space() (byte, error) {
	for {
		c, err := s.next()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c, nil
	}
}

// element reads one element that starts with c, up to the ',' or ']' that
// ends it (outside strings and nesting), and returns that delimiter.
func (s *arrayScanner) element(c byte) (byte, error) {
	s.buf, s.long = s.buf[:0], false
	depth, inString, escaped := 0, false, false
	for {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case (c == '}' || c == ']') && depth > 0:
			depth--
		case depth == 0 && (c == ',' || c == ']'):
			return c, nil
		}
		s.keep(c)
		var err error
		if c, err = s.next(); err != nil {
			return 0, err
		}
	}
}

// readArray emits the posts of the array that br holds from its '['
// (already peeked at) on, and returns the offset up to which the file was
// read: its end. A fault of the array itself (a missing ',' or ']', text
// after the array) is emitted as a rejected item; what follows it cannot
// be split into posts and is not read.
func (f *File) readArray(ctx context.Context, br *bufio.Reader, path string, base, seenUpTo int64, emit Emit, progress func(int64)) (int64, error) {
	s := &arrayScanner{br: br, n: base, line: 1}
	fault := func(line int, format string, args ...any) error {
		if s.n <= seenUpTo { // reported when the cursor's part was read
			return emit(Item{File: path, Line: line, Duplicate: true})
		}
		err := fmt.Errorf("%s:%d: %s: %w", path, line, fmt.Sprintf(format, args...), post.ErrInvalidJSON)
		return emit(Item{File: path, Line: line, Err: err})
	}
	if _, err := s.space(); err != nil { // the '['
		return 0, &FetchError{Reason: ReasonIO, Err: fmt.Errorf("reading %s: %w", path, err)}
	}
	c, err := s.space()
	if err == nil && c == ']' {
		return s.drain(path, fault)
	}
	for n := 1; err == nil; n++ {
		if cerr := ctx.Err(); cerr != nil {
			return 0, cerr
		}
		line := s.line
		var end byte
		end, err = s.element(c)
		if err != nil && !errors.Is(err, io.EOF) {
			break
		}
		it := Item{File: path, Line: line}
		switch {
		case s.n <= seenUpTo:
			it.Duplicate = true
		case s.long:
			it.Err = fmt.Errorf("%s:%d: element %d over %d bytes: %w", path, line, n, maxLineBytes, post.ErrTooLarge)
		case len(s.buf) == 0 || (err != nil && len(trimSpace(s.buf)) == 0):
			it.Err = fmt.Errorf("%s:%d: element %d is empty: %w", path, line, n, post.ErrInvalidJSON)
		default:
			it = f.decode(trimSpace(s.buf), path, line, fmt.Sprintf("element %d: ", n))
		}
		if eerr := emit(it); eerr != nil {
			return 0, eerr
		}
		progress(s.n)
		if err != nil { // io.EOF inside the array
			if ferr := fault(s.line, "the array has no closing ']'"); ferr != nil {
				return 0, ferr
			}
			return s.n, nil
		}
		if end == ']' {
			return s.drain(path, fault)
		}
		c, err = s.space()
		if err == nil && c == ']' {
			if ferr := fault(s.line, "a ',' after element %d ends the array", n); ferr != nil {
				return 0, ferr
			}
			return s.drain(path, fault)
		}
	}
	if errors.Is(err, io.EOF) {
		if ferr := fault(s.line, "the array has no closing ']'"); ferr != nil {
			return 0, ferr
		}
		return s.n, nil
	}
	return 0, &FetchError{Reason: ReasonIO, Err: fmt.Errorf("reading %s: %w", path, err)}
}

// drain reads the rest of the file after the array, which may hold only
// white space, and returns the file's length.
func (s *arrayScanner) drain(path string, fault func(int, string, ...any) error) (int64, error) {
	c, err := s.space()
	if err == nil {
		line := s.line
		n, err := io.Copy(io.Discard, s.br)
		s.n += n
		if err != nil {
			return 0, &FetchError{Reason: ReasonIO, Err: fmt.Errorf("reading %s: %w", path, err)}
		}
		if ferr := fault(line, "%q after the array's closing ']': the rest of the file is not read", c); ferr != nil {
			return 0, ferr
		}
		return s.n, nil
	}
	if !errors.Is(err, io.EOF) {
		return 0, &FetchError{Reason: ReasonIO, Err: fmt.Errorf("reading %s: %w", path, err)}
	}
	return s.n, nil
}

// trimSpace trims JSON white space from both ends of b.
func trimSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
