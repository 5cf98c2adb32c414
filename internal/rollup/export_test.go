package rollup

import (
	"context"
	"time"
)

// The batching of a round, for the external tests.

const MaxBatchDays = maxBatchDays

func (w *Worker) SetBatchRows(n uint64) { w.batchRows = n }

func (w *Worker) Batches(ctx context.Context, days []time.Time) ([][]time.Time, error) {
	return w.batches(ctx, days)
}
