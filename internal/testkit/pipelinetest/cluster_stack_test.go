package pipelinetest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tagpulse/internal/corpus"
)

// TestClusterCountsMatchOneServer runs the same seeded demo set through
// ingest and aggregate twice: on the default stack (one broker, one
// ClickHouse server) and on the cluster profile (three brokers with
// replication factor 3, ClickHouse as 2 shards × 2 replicas through
// `aggregate migrate --cluster`). Every read answers the same, byte for
// byte.
func TestClusterCountsMatchOneServer(t *testing.T) {
	now := time.Now().UTC()
	demo := filepath.Join(t.TempDir(), "demo.jsonl")
	f, err := os.Create(demo)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := corpus.GenerateDemo(f, corpus.DemoOptions{Now: now, Days: 2, Seed: 19})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	single := freshPipeline(t, "one")
	cluster := freshClusterPipeline(t, "cluster")
	for _, p := range []binaries{single, cluster} {
		p.run("ingest", "file", demo)
		p.run("aggregate", "run", "--until-caught-up", "--http-addr", "")
	}

	at := now.Truncate(time.Minute).Add(time.Minute).Format(time.RFC3339)
	reads := [][]string{
		{"top", "--window", "24h", "--limit", "100", "--json", "--at", at},
		{"top", "--window", "7d", "--limit", "100", "--json", "--at", at},
		{"top", "--window", "90m", "--lang", "fr", "--json", "--at", at},
		{"trending", "--window", "1h", "--json", "--at", at},
		{"trending", "--window", "1h", "--by", "posts", "--json", "--at", at},
		{"series", "--tag", "aurora", "--tag", "climate", "--window", "48h", "--step", "1h", "--json", "--at", at},
		{"tag", "aurora", "--window", "24h", "--json", "--at", at},
	}
	for _, r := range reads {
		one, _ := single.run("aggregate", r...)
		many, _ := cluster.run("aggregate", r...)
		if len(one) < 10 {
			t.Fatalf("aggregate %v on one server answered %q: nothing to compare", r, one)
		}
		if !bytes.Equal(one, many) {
			t.Errorf("aggregate %v:\none server: %s\ncluster:    %s", r, one, many)
		}
	}
	if exp.Posts == 0 {
		t.Fatal("the demo set is empty")
	}
}
