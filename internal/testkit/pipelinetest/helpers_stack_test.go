package pipelinetest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/testkit/stacktest"
)

// binaries runs the built ingest and aggregate with an environment.
type binaries struct {
	t   *testing.T
	dir string
	env []string
}

// freshPipeline returns the built binaries with an environment pointing
// at a new topic (6 partitions), a new database and a new consumer group,
// and migrates the database.
func freshPipeline(t *testing.T, group string) binaries {
	t.Helper()
	kafka := stacktest.Kafka(t, 6)
	store, _ := stacktest.ClickHouse(t)
	b := binaries{t: t, dir: stacktest.Binaries(t), env: append(os.Environ(), "KAFKA_BROKERS="+strings.Join(kafka.Brokers, ","), "KAFKA_TOPIC="+kafka.Topic,
		"CLICKHOUSE_DSN="+store.DSN, "KAFKA_GROUP="+stacktest.UniqueName(group))}
	b.run("aggregate", "migrate")
	return b
}

// with returns b with more environment variables (later ones win).
func (b binaries) with(env ...string) binaries {
	b.env = append(slices.Clip(b.env), env...)
	return b
}

// getenv is the last value of name in b's environment.
func (b binaries) getenv(name string) string {
	for i := len(b.env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(b.env[i], name+"="); ok {
			return v
		}
	}
	return ""
}

// run runs a command that must succeed and returns its stdout and stderr.
func (b binaries) run(name string, args ...string) (stdout []byte, stderr string) {
	b.t.Helper()
	out, errOut, err := b.exec(name, args...)
	if err != nil {
		b.t.Fatalf("%s %v: %v\n%s", name, args, err, errOut)
	}
	return out, errOut
}

// fail runs a command that must fail and returns its stderr.
func (b binaries) fail(name string, args ...string) string {
	b.t.Helper()
	_, errOut, err := b.exec(name, args...)
	if err == nil {
		b.t.Fatalf("%s %v succeeded, want a failure\n%s", name, args, errOut)
	}
	return errOut
}

func (b binaries) exec(name string, args ...string) ([]byte, string, error) {
	p := stacktest.Start(b.t, name, filepath.Join(b.dir, name), b.env, args...)
	err := p.Wait(b.t, 3*time.Minute)
	return []byte(p.Stdout()), p.Stderr(), err
}

// samplePosts copies the bundled article into a new folder and returns it.
// A plain-text post is dated by its file's modification time: the copy was
// written now, inside the windows the tests ask for.
func samplePosts(t *testing.T, root string) string {
	t.Helper()
	posts := t.TempDir()
	article, err := os.ReadFile(filepath.Join(root, "samples", "posts", "nif2025-linkedin-post.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(posts, "nif2025-linkedin-post.txt"), article, 0o644); err != nil {
		t.Fatal(err)
	}
	return posts
}

// freshClusterPipeline is freshPipeline on the cluster profile: a topic on
// its three brokers, and a database made by `aggregate migrate` on its
// ClickHouse cluster of 2 shards × 2 replicas, read and written through
// cch1; and the cluster's servers.
func freshClusterPipeline(t *testing.T, group string) (binaries, *stacktest.ClickHouseCluster) {
	t.Helper()
	ch := stacktest.ClusterClickHouse(t)
	return clusterPipelineOn(t, group, ch), ch
}

// clusterPipelineOn is freshClusterPipeline on the ClickHouse cluster ch.
func clusterPipelineOn(t *testing.T, group string, ch *stacktest.ClickHouseCluster) binaries {
	t.Helper()
	kafka := stacktest.ClusterKafka(t, 6)
	ch.DropLocal(t)
	b := binaries{t: t, dir: stacktest.Binaries(t), env: append(os.Environ(), "KAFKA_BROKERS="+strings.Join(kafka.Brokers, ","), "KAFKA_TOPIC="+kafka.Topic,
		"CLICKHOUSE_DSN="+ch.DSN(), "CLICKHOUSE_CLUSTER="+ch.Cluster, "KAFKA_GROUP="+stacktest.UniqueName(group))}
	b.run("aggregate", "migrate")
	return b
}
