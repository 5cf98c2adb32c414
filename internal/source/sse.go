package source

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// sseEvent is one server-sent event: its type ("message" when the server
// named none) and its data lines joined by newlines.
type sseEvent struct {
	Event string
	Data  []byte
}

// sseReader reads server-sent events (the text/event-stream format of the
// HTML standard) with a bound on each line and on each event's data, so a
// server cannot make it buffer without end. Comments (heartbeats), id and
// retry fields are read and ignored.
type sseReader struct {
	r   *bufio.Reader
	max int
	// onLine, when set, is called for every line read, comments
	// (heartbeats) included: the connection is alive.
	onLine func()
}

// errSSETooLarge is returned for a line or an event over the bound.
var errSSETooLarge = errors.New("server-sent event too large")

func newSSEReader(r io.Reader, max int) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// line returns the next line without its end (LF, CRLF or CR-less LF).
func (s *sseReader) line() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		if len(buf)+len(chunk) > s.max+2 {
			return nil, fmt.Errorf("line over %d bytes: %w", s.max, errSSETooLarge)
		}
		buf = append(buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if s.onLine != nil {
			s.onLine()
		}
		buf = bytes.TrimSuffix(buf, []byte("\n"))
		return bytes.TrimSuffix(buf, []byte("\r")), nil
	}
}

// next returns the next event that has data.
func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data [][]byte
	size := 0
	for {
		line, err := s.line()
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if data != nil {
				ev.Data = bytes.Join(data, []byte("\n"))
				if ev.Event == "" {
					ev.Event = "message"
				}
				return ev, nil
			}
			ev = sseEvent{}
			continue
		}
		if line[0] == ':' {
			continue // a comment: Mastodon's heartbeat
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			ev.Event = string(value)
		case "data":
			if size += len(value) + 1; size > s.max {
				return sseEvent{}, fmt.Errorf("event data over %d bytes: %w", s.max, errSSETooLarge)
			}
			data = append(data, bytes.Clone(value))
		}
	}
}
