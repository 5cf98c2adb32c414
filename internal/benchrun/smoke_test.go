package benchrun

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/stacktest"
)

// TestSmoke runs the whole benchmark at the smoke size against the local
// stack, for correctness only: every measurement must complete, every
// limit must have moved every message, and tagpulse's counts must equal the
// generator's. No figure is compared with a target: the machine is shared.
func TestSmoke(t *testing.T) {
	stacktest.Require(t)
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Fatalf("kcat is not installed (scripts/stack up installs it): %v", err)
	}
	bin := stacktest.Binaries(t)
	cfg := SmokeConfig()
	cfg.Corpus.Posts = 1000
	cfg.FreshDuration = 2 * time.Second
	cfg.IngestBin = filepath.Join(bin, "ingest")
	cfg.AggregateBin = filepath.Join(bin, "aggregate")
	cfg.Brokers = strings.Split(stacktest.KafkaBrokers, ",")
	cfg.ClickHouseAddr = stacktest.ClickHouseAddr
	cfg.Dir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("benchmark run: %v", err)
	}
	if r.Checked < 1 || len(r.Inexact) > 0 {
		t.Fatalf("counts checked %d times, inexact: %v", r.Checked, r.Inexact)
	}
	for name, v := range map[string]float64{
		"kcat produce": r.KcatProduce, "kcat consume": r.KcatConsume, "kafka-go write": r.KafkaGoWrite,
		"kafka-go read": r.KafkaGoRead, "raw insert": r.RawInsert, "Kafka engine": r.PeerRows,
		"ingest": r.IngestPosts, "aggregate": r.AggregatePosts, "aggregate RSS": r.AggregateRSS,
		"ingest vs kcat (paired)": r.IngestVsKcat, "aggregate vs kcat (paired)": r.AggregateVsKcat,
	} {
		if v <= 0 {
			t.Errorf("%s: no figure (%v)", name, v)
		}
	}
	if r.FreshMarkers != int(cfg.FreshDuration/(10*time.Millisecond)) {
		t.Errorf("freshness: %d markers seen, want %d", r.FreshMarkers, int(cfg.FreshDuration/(10*time.Millisecond)))
	}
	table := r.Table()
	for _, want := range []string{"kcat produce", "`ingest file`", "`aggregate run --until-caught-up`", "freshness p99", "counts exact | yes"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}
