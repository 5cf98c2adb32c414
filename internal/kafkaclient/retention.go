package kafkaclient

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// Default retention of the topics tagpulse creates. A week of posts is what
// `aggregate replay` and `aggregate rebuild` can re-read, and bounds the
// broker's disk (about 1 KiB a post, docs/operations.md). Dead letters wait
// for a person, who may be away: a month.
const (
	DefaultRetention    = 7 * 24 * time.Hour
	DefaultDLQRetention = 30 * 24 * time.Hour
)

// retentionConfig is the topic configuration that bounds a topic's
// messages by age.
const retentionConfig = "retention.ms"

// RetentionFor returns the retention tagpulse sets on topic when it creates
// it: DLQRetention for a dead-letter topic (a name ending in DLQSuffix),
// Retention otherwise. Zero leaves the broker's default
// (log.retention.hours).
func (c *Config) RetentionFor(topic string) time.Duration {
	if strings.HasSuffix(topic, DLQSuffix) {
		return c.DLQRetention
	}
	return c.Retention
}

// topicConfigs returns the configuration entries topic is created with.
func (c *Config) topicConfigs(topic string) []kafka.ConfigEntry {
	r := c.RetentionFor(topic)
	if r <= 0 {
		return nil
	}
	return []kafka.ConfigEntry{{ConfigName: retentionConfig, ConfigValue: strconv.FormatInt(r.Milliseconds(), 10)}}
}

// TopicRetention returns the retention of each topic as the brokers apply
// it (the topic's own retention.ms, or the broker's default), and -1 for a
// topic whose messages never expire by age.
func TopicRetention(ctx context.Context, client *kafka.Client, topics ...string) (map[string]time.Duration, error) {
	req := &kafka.DescribeConfigsRequest{}
	for _, t := range topics {
		req.Resources = append(req.Resources, kafka.DescribeConfigRequestResource{
			ResourceType: kafka.ResourceTypeTopic, ResourceName: t, ConfigNames: []string{retentionConfig},
		})
	}
	resp, err := client.DescribeConfigs(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("describing the configuration of topics %v: %w", topics, err)
	}
	out := make(map[string]time.Duration, len(topics))
	for _, r := range resp.Resources {
		if r.Error != nil {
			return nil, fmt.Errorf("describing the configuration of topic %s: %w", r.ResourceName, r.Error)
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName != retentionConfig {
				continue
			}
			ms, err := strconv.ParseInt(e.ConfigValue, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("topic %s: %s = %q: %w", r.ResourceName, retentionConfig, e.ConfigValue, err)
			}
			if ms < 0 {
				out[r.ResourceName] = -1
			} else {
				out[r.ResourceName] = time.Duration(ms) * time.Millisecond
			}
		}
	}
	for _, t := range topics {
		if _, ok := out[t]; !ok {
			return nil, fmt.Errorf("topic %s: the brokers did not report %s", t, retentionConfig)
		}
	}
	return out, nil
}
