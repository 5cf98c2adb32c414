package aggregator

import (
	"context"
	"log/slog"

	"github.com/segmentio/kafka-go"

	"tagpulse/internal/kafkaclient"
)

// progress answers a run --until-caught-up: whether the group has
// committed everything up to target, the end offsets seen at start. A
// daemon run has no target.
type progress struct {
	client *kafka.Client
	topic  string
	group  string
	parts  []int
	target map[int]kafkaclient.PartitionOffsets
}

// caughtUp reports whether the group has committed, on every partition,
// everything up to the end offsets of target.
func (p progress) caughtUp(ctx context.Context) (bool, error) {
	committed, err := kafkaclient.CommittedOffsets(ctx, p.client, p.topic, p.group, p.parts)
	if err != nil {
		return false, err
	}
	for part, t := range p.target {
		if t.End > t.First && committed[part] < t.End {
			return false, nil
		}
	}
	return true, nil
}

// tail returns the tailWatch of the run: nil for a daemon run, or when the
// committed offsets cannot be read.
func (p progress) tail(ctx context.Context, log *slog.Logger) *tailWatch {
	if p.target == nil {
		return nil
	}
	committed, err := kafkaclient.CommittedOffsets(ctx, p.client, p.topic, p.group, p.parts)
	if err != nil {
		log.Debug("reading committed offsets; the last batch waits for --flush-interval", "err", err)
		return nil
	}
	w := &tailWatch{left: map[int]int64{}}
	for part, t := range p.target {
		if t.End > t.First && committed[part] < t.End {
			w.left[part] = t.End - 1
		}
	}
	return w
}

// tailWatch tells a run --until-caught-up when it has read, on every
// partition it had to, the last message before the target's end offsets:
// the batch then holds the tail of the backlog and is flushed at once
// instead of --flush-interval after its first message, which would only
// wait for messages the run does not need. A nil tailWatch (not a
// caught-up run, or the committed offsets could not be read) never
// reports the tail, and the batch waits as in a daemon run.
type tailWatch struct {
	// left holds, per partition still to be read, the offset of the last
	// message before the target's end.
	left map[int]int64
}

// read records m and reports whether it was the last message to read.
// Partitions whose last message is not at end-1 (transaction markers,
// compaction) are never crossed off: the batch then waits, which is slower
// but never wrong.
func (w *tailWatch) read(m kafka.Message) bool {
	if w == nil {
		return false
	}
	last, ok := w.left[m.Partition]
	if !ok || m.Offset < last {
		return false
	}
	delete(w.left, m.Partition)
	return len(w.left) == 0
}

// done reports whether every partition has been read to the target.
func (w *tailWatch) done() bool { return w != nil && len(w.left) == 0 }
