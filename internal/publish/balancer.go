package publish

import "github.com/segmentio/kafka-go"

// keyHashBalancer places a message exactly as kafka-go's Hash balancer
// (and Sarama's) does, so a post keeps its partition: FNV-1a of the key,
// as an int32, modulo the partition count. It computes the hash inline
// instead of through a pooled hash.Hash32 (the pool, the interface calls
// and the defers were 3.5% of ingest's CPU).
type keyHashBalancer struct {
	unkeyed kafka.RoundRobin
}

func (b *keyHashBalancer) Balance(msg kafka.Message, partitions ...int) int {
	if msg.Key == nil {
		return b.unkeyed.Balance(msg, partitions...)
	}
	h := uint32(2166136261)
	for _, c := range msg.Key {
		h ^= uint32(c)
		h *= 16777619
	}
	p := int32(h) % int32(len(partitions))
	if p < 0 {
		p = -p
	}
	return int(p)
}
