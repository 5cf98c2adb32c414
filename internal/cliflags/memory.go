package cliflags

import (
	"os"
	"runtime/debug"
)

// ApplyMemoryLimit sets the process's soft memory limit
// (runtime/debug.SetMemoryLimit); 0 leaves the Go runtime's (GOMEMLIMIT, or
// none). Under a limit the garbage collector runs only as the heap nears
// it, unless GOGC is set: the services' live heap (batches in flight) is
// well below their limits, and collecting each time the heap doubled
// (GOGC=100) cost ingest 10% and aggregate 15% of their CPU, most of it
// while the heap grew to its working size (BENCHMARKS.md). Should the live
// heap outgrow the limit, the runtime caps the collector at half the CPU
// and lets the heap pass the limit rather than stall.
func ApplyMemoryLimit(limit int64) {
	if limit <= 0 {
		return
	}
	debug.SetMemoryLimit(limit)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(-1)
	}
}
