package aggregator

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func TestTailWatch(t *testing.T) {
	msg := func(p int, off int64) kafka.Message { return kafka.Message{Partition: p, Offset: off} }
	tests := []struct {
		name     string
		left     map[int]int64 // nil: no tailWatch
		reads    []kafka.Message
		wantLast []bool
		wantDone bool
	}{
		{"not a caught-up run", nil, []kafka.Message{msg(0, 9)}, []bool{false}, false},
		{"one partition, read to its end", map[int]int64{0: 9}, []kafka.Message{msg(0, 8), msg(0, 9)}, []bool{false, true}, true},
		{"two partitions, the second ends the run", map[int]int64{0: 9, 1: 4}, []kafka.Message{msg(0, 9), msg(1, 3), msg(1, 4)}, []bool{false, false, true}, true},
		{"past the end counts as the end", map[int]int64{0: 9}, []kafka.Message{msg(0, 12)}, []bool{true}, true},
		{"a partition with nothing to read is ignored", map[int]int64{0: 9}, []kafka.Message{msg(1, 100)}, []bool{false}, false},
		{"the end is reported once", map[int]int64{0: 9}, []kafka.Message{msg(0, 9), msg(0, 10)}, []bool{true, false}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w *tailWatch
			if tt.left != nil {
				w = &tailWatch{left: tt.left}
			}
			for i, m := range tt.reads {
				if got := w.read(m); got != tt.wantLast[i] {
					t.Errorf("read(partition %d, offset %d) = %v, want %v", m.Partition, m.Offset, got, tt.wantLast[i])
				}
			}
			if got := w.done(); got != tt.wantDone {
				t.Errorf("done() = %v, want %v", got, tt.wantDone)
			}
		})
	}
}

func TestFetchContextKeptWhileTheDeadlineHolds(t *testing.T) {
	var f fetchContext
	defer f.stop()
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	d := time.Now().Add(time.Hour)
	first := f.with(parent, d)
	if again := f.with(parent, d); again != first {
		t.Error("a second fetch with the same deadline got a new context")
	}
	if dl, _ := first.Deadline(); !dl.Equal(d) {
		t.Errorf("deadline = %s, want %s", dl, d)
	}
	later := f.with(parent, d.Add(time.Second))
	if later == first {
		t.Fatal("a new deadline kept the old context")
	}
	if first.Err() == nil {
		t.Error("the replaced context was not cancelled")
	}
	cancelParent()
	if later.Err() == nil {
		t.Error("the fetch context outlived its parent")
	}
}
