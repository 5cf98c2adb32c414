package aggregatecli

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestApplyMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	tests := []struct {
		name  string
		start int64
		limit int64
		want  int64
	}{
		{name: "set", start: math.MaxInt64, limit: 160 << 20, want: 160 << 20},
		{name: "zero leaves the runtime's", start: 300 << 20, limit: 0, want: 300 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetMemoryLimit(tt.start)
			applyMemoryLimit(tt.limit)
			if got := debug.SetMemoryLimit(-1); got != tt.want {
				t.Errorf("memory limit %d, want %d", got, tt.want)
			}
		})
	}
}
