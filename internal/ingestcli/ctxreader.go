package ingestcli

import (
	"context"
	"io"
)

// contextReader reads r until ctx ends: then Read returns ctx's error at
// once, even while a read of r is blocked (a terminal, or a pipe nobody
// writes to). signal.NotifyContext takes SIGTERM and SIGINT away from
// their default handler, so a read that did not watch the context would
// keep the process alive until its input closed.
//
// Each read of r goes into a buffer of the reader's own, never the
// caller's slice: a read left blocked when ctx ends may still complete
// later, and must not write into memory the caller has moved on with.
// After ctx ends no read is started and none is copied out.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

type readResult struct {
	buf []byte
	err error
}

func newContextReader(ctx context.Context, r io.Reader) *contextReader {
	return &contextReader{ctx: ctx, r: r}
}

// Read implements io.Reader.
func (c *contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	ch := make(chan readResult, 1)
	go func() {
		buf := make([]byte, len(p))
		n, err := c.r.Read(buf)
		ch <- readResult{buf[:n], err}
	}()
	select {
	case <-c.ctx.Done():
		return 0, c.ctx.Err()
	case res := <-ch:
		return copy(p, res.buf), res.err
	}
}
