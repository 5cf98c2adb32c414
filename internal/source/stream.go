package source

import (
	"context"
	"slices"
	"time"

	"tagpulse/internal/post"
)

// Streaming sources (Bluesky's Jetstream, Mastodon's streaming API) hold a
// connection open and are read by one goroutine per connection, a pump,
// into a bounded channel; each Poll takes what arrived during one window.
// A slow consumer therefore stops the pump (and so the reading of the
// socket) instead of growing a buffer, and loses nothing.
const (
	// DefaultStreamWindow is how long one poll of a stream gathers posts
	// before they are published and the cursor saved; KIND@INTERVAL sets
	// another.
	DefaultStreamWindow = 5 * time.Second
	// streamBuffer bounds the events a pump holds for the next poll.
	streamBuffer = 1024
	// streamMaxPerPoll bounds the events of one poll, so a stream that
	// never pauses is still published and committed in steps.
	streamMaxPerPoll = 5000
	// streamRecent is how many post ids a stream remembers (in its
	// cursor) to mark as duplicates the posts it reads twice: those a
	// rewound cursor replays, or a backfill and the stream both bring.
	streamRecent = 1000
	// streamDialTimeout bounds connecting and the handshake.
	streamDialTimeout = 30 * time.Second
	// streamIdle is how long a connection may stay silent before it is
	// checked (a websocket ping) or, for server-sent events, whose
	// servers send a heartbeat every few seconds, taken for dead: a peer
	// gone without closing the connection would otherwise stall the
	// source for good.
	streamIdle = 90 * time.Second
)

// streamMsg is one event a pump read: the item to emit (nil for an event
// that is skipped), and the stream's cursor once it is handled.
type streamMsg[C any] struct {
	item   *Item
	cursor C
}

// streamCursor is what a stream's saved cursor holds besides its
// position: the ids of the posts published last.
type streamCursor[C any] interface {
	recentIDs() []string
	withRecentIDs([]string) C
}

// connectFunc connects a stream at cursor from and hands every event to
// send, in order, until the connection ends (with its error) or ctx ends.
type connectFunc[C any] func(ctx context.Context, from C, send func(streamMsg[C]) error) error

// pump runs one connection of a stream in its own goroutine.
type pump[C any] struct {
	ch     chan streamMsg[C]
	done   chan struct{}
	err    error // set before done is closed
	cancel context.CancelFunc
}

func startPump[C any](ctx context.Context, size int, from C, connect connectFunc[C]) *pump[C] {
	ctx, cancel := context.WithCancel(ctx)
	p := &pump[C]{ch: make(chan streamMsg[C], size), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(p.done)
		p.err = connect(ctx, from, func(m streamMsg[C]) error {
			select {
			case p.ch <- m:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return p
}

// stop ends the connection and waits for the goroutine.
func (p *pump[C]) stop() {
	p.cancel()
	<-p.done
}

// collect takes the events that arrive until the window ends, max are
// taken or ctx ends. Once the connection has ended it returns what is
// left, and the connection's error when nothing is.
func (p *pump[C]) collect(ctx context.Context, window time.Duration, max int) ([]streamMsg[C], error) {
	timer := time.NewTimer(window)
	defer timer.Stop()
	var out []streamMsg[C]
	for len(out) < max {
		select {
		case m := <-p.ch:
			out = append(out, m)
			continue
		default:
		}
		select {
		case m := <-p.ch:
			out = append(out, m)
		case <-p.done:
			for len(out) < max {
				select {
				case m := <-p.ch:
					out = append(out, m)
				default:
					if len(out) == 0 {
						return nil, p.err
					}
					return out, nil
				}
			}
		case <-timer.C:
			return out, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// stream is the Poll of a streaming source over its connect function.
// Only the runner's goroutine calls Poll and the commit it returns.
type stream[C streamCursor[C]] struct {
	opt     Options
	window  time.Duration
	cursor  *cursor[C]
	connect connectFunc[C]
	buffer  int

	pump *pump[C]
	// pending says the last poll emitted posts whose commit has not been
	// called (their publishing failed): the next poll reconnects at the
	// saved cursor, so they are read again rather than lost.
	pending bool
}

// Poll implements Source: it connects when there is no connection (the
// first poll, or after one ended; the runner's backoff spaces the
// attempts), then emits what arrives during one window. The connection
// lives on between polls, until ctx (that of the poll that made it) ends
// or Close is called.
func (s *stream[C]) Poll(ctx context.Context, emit Emit) (Result, error) {
	if s.pump != nil && s.pending {
		s.pump.stop()
		s.pump = nil
	}
	s.pending = false
	if s.pump == nil {
		s.pump = startPump(ctx, max(s.buffer, 1), s.cursor.value, s.connect)
	}
	msgs, err := s.pump.collect(ctx, s.window, streamMaxPerPoll)
	if err != nil {
		if ctx.Err() == nil {
			s.pump.stop()
			s.pump = nil
		}
		return Result{}, err
	}
	if len(msgs) == 0 {
		return Result{}, nil
	}
	recent := s.cursor.value.recentIDs()
	seen := make(map[string]bool, len(recent)+len(msgs))
	for _, id := range recent {
		seen[id] = true
	}
	var fresh []string
	s.pending = true
	for _, m := range msgs {
		if m.item == nil {
			continue
		}
		it := *m.item
		if id := recentKey(it.Post); it.Err == nil && it.Post.ID != "" {
			it.Duplicate = seen[id]
			if !seen[id] {
				seen[id] = true
				fresh = append(fresh, id)
			}
		}
		if err := emit(it); err != nil {
			return Result{}, err
		}
	}
	keep := append(slices.Clone(recent), fresh...)
	if n := len(keep); n > streamRecent {
		keep = keep[n-streamRecent:]
	}
	commit := s.cursor.commit(msgs[len(msgs)-1].cursor.withRecentIDs(keep))
	return Result{Commit: func() error {
		if err := commit(); err != nil {
			return err
		}
		s.pending = false
		return nil
	}}, nil
}

// recentKey is what a stream's recent ids hold of a post: its id, or for a
// tombstone its id marked as one, so that a post and its deletion, read in
// a row, are both published, and each only once.
func recentKey(p post.Post) string {
	if p.Deleted {
		return "deleted " + p.ID
	}
	return p.ID
}

// Close ends the connection, if any.
func (s *stream[C]) Close() error {
	if s.pump != nil {
		s.pump.stop()
		s.pump = nil
	}
	return nil
}
