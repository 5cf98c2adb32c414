package command

import (
	"os"
	"runtime/debug"
)

// gcPercentUnderLimit is the GOGC the services run with under a memory
// limit: the heap may grow to five times what is live before a collection,
// but never past the limit, which is what bounds a busy service's heap.
// With the default GOGC=100 the collections (20 per 200,000 posts in
// aggregate, most of them while the heap grew to its working size) cost
// ingest 10% and aggregate 15% of their CPU; with 400 they cost what they
// do with no GOGC at all (BENCHMARKS.md), while an idle daemon's small heap
// stays small and is still collected every two minutes.
const gcPercentUnderLimit = 400

// ApplyMemoryLimit sets the process's soft memory limit
// (runtime/debug.SetMemoryLimit) and, unless the environment sets GOGC,
// GOGC=400 under it; 0 leaves the Go runtime's settings (GOMEMLIMIT, or no
// limit). Should the live heap outgrow the limit, the runtime caps the
// collector at half the CPU and lets the heap pass the limit rather than
// stall.
func ApplyMemoryLimit(limit int64) {
	if limit <= 0 {
		return
	}
	debug.SetMemoryLimit(limit)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercentUnderLimit)
	}
}
