package faulttest

import (
	"path/filepath"
	"testing"

	"tagpulse/internal/testkit/stacktest"
)

// ingestBin and aggregateBin are the binaries under test, built once per
// test process by stacktest.Binaries.
func ingestBin(t testing.TB) string { return filepath.Join(stacktest.Binaries(t), "ingest") }

func aggregateBin(t testing.TB) string { return filepath.Join(stacktest.Binaries(t), "aggregate") }
