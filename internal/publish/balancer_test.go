package publish

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/segmentio/kafka-go"
)

// TestKeyHashBalancerMatchesKafkaGo: every key lands where kafka-go's Hash
// balancer puts it, for partition counts of 1 to 64.
func TestKeyHashBalancerMatchesKafkaGo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	keys := [][]byte{{}, []byte("rss:1"), []byte("file:9f86d081"), []byte("mastodon:https://example.org/@a/1"), []byte("é日本")}
	for range 2000 {
		k := make([]byte, r.IntN(40))
		for i := range k {
			k[i] = byte(r.UintN(256))
		}
		keys = append(keys, k)
	}
	var ours keyHashBalancer
	var theirs kafka.Hash
	for n := 1; n <= 64; n++ {
		partitions := make([]int, n)
		for i := range partitions {
			partitions[i] = i
		}
		for _, k := range keys {
			m := kafka.Message{Key: k}
			if got, want := ours.Balance(m, partitions...), theirs.Balance(m, partitions...); got != want {
				t.Fatalf("key %q, %d partitions: %d, kafka-go's Hash %d", k, n, got, want)
			}
		}
	}
	// Unkeyed messages go round robin over the partitions.
	seen := map[int]bool{}
	for range 6 {
		seen[ours.Balance(kafka.Message{}, 0, 1, 2, 3, 4, 5)] = true
	}
	if len(seen) != 6 {
		t.Errorf("unkeyed messages went to %v", fmt.Sprint(seen))
	}
}
