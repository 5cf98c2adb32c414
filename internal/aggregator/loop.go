package aggregator

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// shutdownGrace bounds the last flush and commit after the context ends.
const shutdownGrace = 15 * time.Second

// caughtUpPoll is how often a run --until-caught-up that has nothing new
// to read looks whether its last flush has ended.
const caughtUpPoll = 20 * time.Millisecond

// loop is the consumer's main goroutine: it fetches messages into a batch,
// hands each full or due batch to the flusher, applies the poison policy
// and, in a run --until-caught-up, watches for the end. It alone touches
// the batch being filled.
type loop struct {
	cfg      Config
	metrics  *Metrics
	log      *slog.Logger
	now      func() time.Time
	fetch    *fetcher
	flush    *flusher
	poison   *poisonWatch
	progress progress
}

func (l *loop) run(ctx context.Context) error {
	fl := l.flush
	// Whatever ends the loop, the flush in flight has ended before Run
	// closes the reader and the dead-letter writer.
	defer fl.wait()
	defer l.fetch.stop()
	caughtUpRun := l.progress.target != nil
	tail := l.progress.tail(ctx, l.log)
	b := newBatch()
	for {
		// Once everything up to the target is read, nothing more is
		// coming that the run needs: wait for the last flush instead of
		// polling.
		if caughtUpRun && b.empty() && (tail.done() || fl.idle()) {
			if err := fl.wait(); err != nil {
				return l.stopped(err, b)
			}
			done, err := l.progress.caughtUp(ctx)
			if err != nil {
				l.log.Warn("checking whether caught up", "err", err)
			} else if done {
				l.log.Info("caught up with the end offsets seen at start")
				return nil
			}
		}
		deadline := l.now().Add(l.cfg.FlushInterval)
		switch {
		case !b.empty():
			deadline = b.started.Add(l.cfg.FlushInterval)
		case caughtUpRun && !fl.idle():
			// Nothing read since the last batch went out: look again
			// soon whether its flush has ended and the run caught up.
			deadline = l.now().Add(caughtUpPoll)
		}
		m, ok, err := l.fetch.next(ctx, deadline)
		switch {
		case ctx.Err() != nil:
			return l.shutdown(b)
		case err != nil:
			return err
		case !ok: // the deadline passed: the batch is due
			if !b.empty() {
				if err := fl.send(ctx, b); err != nil {
					return l.stopped(err, b)
				}
				b = fl.next()
			}
			continue
		}
		l.metrics.MessagesConsumed.Inc()
		p := b.add(m, l.now())
		if p != nil {
			l.log.Debug("poison message", "partition", m.Partition, "offset", m.Offset, "reason", p.Reason, "err", p.Err)
		}
		if perr := l.poison.observe(p != nil); perr != nil {
			// --poison-policy=halt: keep what was read (the valid posts
			// stored, the poison dead-lettered, all committed), then stop.
			if err := fl.send(ctx, b); err != nil {
				return l.stopped(err, b)
			}
			if err := fl.wait(); err != nil {
				return l.stopped(err, fl.next())
			}
			return perr
		}
		tailRead := tail.read(m) // always: it crosses the partition off
		if b.full(l.cfg.BatchRows, l.cfg.BatchBytes) || tailRead {
			if err := fl.send(ctx, b); err != nil {
				return l.stopped(err, b)
			}
			b = fl.next()
		}
	}
}

// stopped handles a flush that ended: when ctx ended it is a shutdown
// (flush what is held with a fresh deadline), otherwise a fatal error.
func (l *loop) stopped(err error, b *batch) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return l.shutdown(b)
	}
	return err
}

// shutdown makes a last attempt to store and commit what the consumer
// holds after the run's context ended: the batch whose flush the shutdown
// interrupted, then the batch being filled. What it cannot store is not
// committed, and neither is anything after it, so it is read again by
// whoever owns the partition next.
func (l *loop) shutdown(b *batch) error {
	fl := l.flush
	fl.wait()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	for _, held := range []*batch{fl.failed, b} {
		if held == nil || (held.empty() && !fl.pending()) {
			continue
		}
		if err := fl.flushNow(ctx, held); err != nil {
			l.log.Warn("last flush at shutdown; its messages will be read again", "err", err)
			return nil
		}
	}
	return nil
}
