package command

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestApplyMemoryLimit(t *testing.T) {
	beforeLimit := debug.SetMemoryLimit(-1)
	beforePercent := debug.SetGCPercent(100)
	t.Cleanup(func() {
		debug.SetMemoryLimit(beforeLimit)
		debug.SetGCPercent(beforePercent)
	})
	tests := []struct {
		name        string
		gogc        string // the environment's GOGC
		start       int64
		limit       int64
		wantLimit   int64
		wantPercent int // GOGC after
	}{
		{name: "set, GOGC=400 under it", start: math.MaxInt64, limit: 160 << 20, wantLimit: 160 << 20, wantPercent: gcPercentUnderLimit},
		{name: "set, GOGC of the environment kept", gogc: "200", start: math.MaxInt64, limit: 160 << 20, wantLimit: 160 << 20, wantPercent: 100},
		{name: "zero leaves the runtime's", start: 300 << 20, limit: 0, wantLimit: 300 << 20, wantPercent: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOGC", tt.gogc)
			debug.SetMemoryLimit(tt.start)
			debug.SetGCPercent(100)
			ApplyMemoryLimit(tt.limit)
			if got := debug.SetMemoryLimit(-1); got != tt.wantLimit {
				t.Errorf("memory limit %d, want %d", got, tt.wantLimit)
			}
			if got := debug.SetGCPercent(100); got != tt.wantPercent {
				t.Errorf("GC percent %d, want %d", got, tt.wantPercent)
			}
		})
	}
}
