package chengine

import "testing"

func TestReplicatedAndPlainEngines(t *testing.T) {
	tests := []struct{ plain, replicated string }{
		{"ReplacingMergeTree(inserted_at) PARTITION BY toYYYYMMDD(created_at) ORDER BY (toStartOfHour(created_at), tag, post_id) SETTINGS index_granularity = 8192",
			"ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}', inserted_at) PARTITION BY toYYYYMMDD(created_at) ORDER BY (toStartOfHour(created_at), tag, post_id) SETTINGS index_granularity = 8192"},
		{"MergeTree() PARTITION BY toYYYYMMDD(hour) ORDER BY hour SETTINGS index_granularity = 8192",
			"ReplicatedMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}') PARTITION BY toYYYYMMDD(hour) ORDER BY hour SETTINGS index_granularity = 8192"},
		{"AggregatingMergeTree() ORDER BY tag", "ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}') ORDER BY tag"},
	}
	for _, tt := range tests {
		got, err := Replicated(tt.plain, "/clickhouse/tables/{shard}/db/t")
		if err != nil || got != tt.replicated {
			t.Errorf("Replicated(%q) = %q, %v; want %q", tt.plain, got, err, tt.replicated)
		}
		back, err := Plain(tt.replicated)
		if err != nil || back != tt.plain {
			t.Errorf("Plain(%q) = %q, %v; want %q", tt.replicated, back, err, tt.plain)
		}
		if same, err := Plain(tt.plain); err != nil || same != tt.plain {
			t.Errorf("PlainEngine of a plain engine %q = %q, %v", tt.plain, same, err)
		}
	}
	// Current releases write an engine without arguments without parentheses.
	if got, err := Replicated("MergeTree PARTITION BY toYYYYMMDD(hour) ORDER BY hour", "/p"); err != nil || got != "ReplicatedMergeTree('/p', '{replica}') PARTITION BY toYYYYMMDD(hour) ORDER BY hour" {
		t.Errorf("Replicated of 26.9's MergeTree = %q, %v", got, err)
	}
	if got, err := Plain("MergeTree PARTITION BY toYYYYMMDD(hour) ORDER BY hour"); err != nil || got != "MergeTree PARTITION BY toYYYYMMDD(hour) ORDER BY hour" {
		t.Errorf("Plain of 26.9's MergeTree = %q, %v", got, err)
	}
	for _, bad := range []string{"Memory", "Distributed('c', 'db', 't', rand())", "ReplicatedMergeTree('/p', '{replica}') ORDER BY x"} {
		if got, err := Replicated(bad, "/p"); err == nil {
			t.Errorf("Replicated(%q) = %q, want an error", bad, got)
		}
	}
}
