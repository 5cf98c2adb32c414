package benchrun

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/testkit/stacktest"
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
	cfg.Bin = bin
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
	if r.Current == nil {
		t.Fatalf("no figures of the current ClickHouse at %s", cfg.CurrentClickHouseAddr)
	}
	for name, v := range map[string]float64{
		"raw insert": r.Current.RawInsert, "schema insert": r.Current.SchemaInsert, "aggregate": r.Current.AggregatePosts,
		"aggregate vs kcat (paired)": r.Current.AggregateVsKcat, "aggregate vs the first server (paired)": r.Current.AggregateVsOld,
	} {
		if v <= 0 {
			t.Errorf("%s on ClickHouse %s: no figure (%v)", name, r.Current.Version, v)
		}
	}
	if r.FreshMarkers != int(cfg.FreshDuration/(10*time.Millisecond)) {
		t.Errorf("freshness: %d markers seen, want %d", r.FreshMarkers, int(cfg.FreshDuration/(10*time.Millisecond)))
	}
	table := r.Table()
	for _, want := range []string{"kcat produce", "`ingest file`", "`aggregate run --until-caught-up`", "freshness p99", "counts exact | yes", "`aggregate run --until-caught-up`** on ClickHouse 26."} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

// TestCompareSmoke compares a build with itself at a tiny size, for
// correctness only: every round of every build measures, counts are
// checked, and the table has a row per measure.
func TestCompareSmoke(t *testing.T) {
	stacktest.Require(t)
	bin := stacktest.Binaries(t)
	cfg := SmokeConfig()
	cfg.Corpus.Posts = 300
	cfg.Runs = 2
	cfg.Brokers = strings.Split(stacktest.KafkaBrokers, ",")
	cfg.ClickHouseAddr = stacktest.ClickHouseAddr
	cfg.Dir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := Compare(ctx, cfg, []Build{{Name: "a", Bin: bin}, {Name: "b", Bin: bin}})
	if err != nil {
		t.Fatalf("compare: %v", err)
	}
	for i, s := range c.Samples {
		for k, m := range compareMeasures {
			if len(s[k]) != cfg.Runs || median(s[k]) <= 0 {
				t.Errorf("build %d, %s: samples %v", i, m.name, s[k])
			}
		}
	}
	table := c.Markdown()
	if n := strings.Count(table, "\n"); n != 2+len(compareMeasures) {
		t.Errorf("table of %d lines, want %d:\n%s", n, 2+len(compareMeasures), table)
	}
	if _, err := Compare(ctx, cfg, []Build{{Name: "a", Bin: bin}}); err == nil {
		t.Error("Compare accepted a single build")
	}
}
