package ingestcli

import (
	"bytes"
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"tagpulse/internal/ingest"
	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/publish/publishtest"
	"tagpulse/internal/testkit/stacktest"
)

// execute runs the ingest command line with args and returns its stdout.
func execute(ctx context.Context, t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := New()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if testing.Verbose() {
		t.Logf("ingest %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out.String(), errOut.String())
	}
	return out.String(), err
}

func kafkaArgs(kc *kafkaclient.Config) []string {
	return []string{"--kafka-brokers", strings.Join(kc.Brokers, ","), "--kafka-topic", kc.Topic, "--log-level", "warn"}
}

// Two runs of `ingest file` over the same folder publish the same ids, to
// the same partitions.
func TestFileTwiceSameIDs(t *testing.T) {
	kc := stacktest.Kafka(t, 4)
	args := append([]string{"file", "testdata/posts"}, kafkaArgs(kc)...)
	for range 2 {
		out, err := execute(context.Background(), t, args...)
		if err != nil {
			t.Fatalf("ingest file: %v", err)
		}
		want := "2 files: 4 posts read, 3 published, 1 rejected (missing_field 1), 0 failed"
		if !strings.HasPrefix(out, want) {
			t.Errorf("summary %q, want it to start with %q", out, want)
		}
	}
	msgs := publishtest.ReadAll(t, kc)
	partitions := map[string][]int{}
	for _, m := range msgs {
		partitions[m.Key] = append(partitions[m.Key], m.Partition)
	}
	var keys []string
	for k, ps := range partitions {
		keys = append(keys, k)
		if len(ps) != 2 || ps[0] != ps[1] {
			t.Errorf("post %s: partitions %v, want the same one twice", k, ps)
		}
	}
	sort.Strings(keys)
	if len(keys) != 3 || !slices.Contains(keys, "cli-1") || !slices.Contains(keys, "cli-3") || !strings.HasPrefix(keys[2], "file:") {
		t.Errorf("ids %v, want cli-1, cli-3 and one file: id", keys)
	}
}

func TestSummary(t *testing.T) {
	tests := []struct {
		stats ingest.Stats
		want  string
	}{
		{ingest.Stats{Read: 10, Published: 6, Failed: 1, Hashtags: 9, Rejected: map[string]int{"too_large": 2, "invalid_json": 1, "wrong_type": 0}},
			"3 files: 10 posts read, 6 published, 3 rejected (invalid_json 1, too_large 2), 1 failed, 9 hashtags"},
		{ingest.Stats{Read: 10, Published: 6, Tombstones: 2, Hashtags: 4, Skipped: map[string]int{"excluded": 1, "not_public": 3}},
			"3 files: 10 posts read, 6 published (2 tombstones), 0 rejected, 4 skipped (excluded 1, not_public 3), 0 failed, 4 hashtags"},
	}
	for _, tt := range tests {
		if got := summary(3, tt.stats); got != tt.want {
			t.Errorf("summary\n got %q\nwant %q", got, tt.want)
		}
	}
}

// The bundled sample article publishes as one post with its 16 distinct
// hashtags, in order of first appearance.
func TestFileSampleArticle(t *testing.T) {
	kc := stacktest.Kafka(t, 2)
	out, err := execute(context.Background(), t, append([]string{"file", "../../samples/posts/nif2025-linkedin-post.txt"}, kafkaArgs(kc)...)...)
	if err != nil {
		t.Fatal(err)
	}
	if want := "1 files: 1 posts read, 1 published, 0 rejected, 0 failed, 16 hashtags"; strings.TrimSpace(out) != want {
		t.Errorf("summary %q, want %q", out, want)
	}
	msgs := publishtest.ReadAll(t, kc)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	var tags []string
	for _, h := range msgs[0].Value.Hashtags {
		tags = append(tags, h.Tag+"="+h.Display)
	}
	want := []string{"nif2025=NIF2025", "otan=OTAN", "ue=UE", "nato=NATO", "defense=Defense", "industry=Industry",
		"innovation=Innovation", "souverainete=Souveraineté", "technologie=Technologie", "ia=IA", "drones=Drones",
		"robotics=Robotics", "space=Space", "industrialbase=IndustrialBase", "security=Security", "rearmement=Réarmement"}
	if !slices.Equal(tags, want) {
		t.Errorf("hashtags\n got %v\nwant %v", tags, want)
	}
	if msgs[0].Value.ExtractorVersion < 1 {
		t.Errorf("extractor version %d, want the hashtag package's", msgs[0].Value.ExtractorVersion)
	}
}
