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

func TestGranularity(t *testing.T) {
	tests := []struct {
		engine string
		rows   int
		with   string
	}{
		{"MergeTree() PARTITION BY toYYYYMMDD(day) ORDER BY (source, lang, tag, day) SETTINGS index_granularity = 8192", 8192,
			"MergeTree() PARTITION BY toYYYYMMDD(day) ORDER BY (source, lang, tag, day) SETTINGS index_granularity = 256"},
		{"MergeTree PARTITION BY toYYYYMMDD(day) ORDER BY (tag, day) SETTINGS index_granularity = 256, min_bytes_for_wide_part = 0", 256,
			"MergeTree PARTITION BY toYYYYMMDD(day) ORDER BY (tag, day) SETTINGS index_granularity = 256, min_bytes_for_wide_part = 0"},
		{"MergeTree ORDER BY tag SETTINGS min_bytes_for_wide_part = 0", 8192,
			"MergeTree ORDER BY tag SETTINGS index_granularity = 256, min_bytes_for_wide_part = 0"},
		{"MergeTree() ORDER BY tag", 8192, "MergeTree() ORDER BY tag SETTINGS index_granularity = 256"},
	}
	for _, tt := range tests {
		if got := Granularity(tt.engine); got != tt.rows {
			t.Errorf("Granularity(%q) = %d, want %d", tt.engine, got, tt.rows)
		}
		with := WithGranularity(tt.engine, 256)
		if with != tt.with {
			t.Errorf("WithGranularity(%q, 256) = %q, want %q", tt.engine, with, tt.with)
		}
		if got := Granularity(with); got != 256 {
			t.Errorf("Granularity(WithGranularity(%q, 256)) = %d", tt.engine, got)
		}
	}
}

func TestSplitCreate(t *testing.T) {
	tests := []struct{ create, columns, engine string }{
		{"CREATE TABLE db.tag_day ( day DateTime,  tag String) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(day) ORDER BY (tag, day) SETTINGS index_granularity = 8192",
			"( day DateTime, tag String)", "MergeTree() PARTITION BY toYYYYMMDD(day) ORDER BY (tag, day) SETTINGS index_granularity = 8192"},
		{"CREATE TABLE db.tag_day\n(\n    `day` DateTime,\n    `tag` String\n)\nENGINE = MergeTree\nPARTITION BY toYYYYMMDD(day)\nORDER BY (tag, day)\nSETTINGS index_granularity = 256",
			"( `day` DateTime, `tag` String )", "MergeTree PARTITION BY toYYYYMMDD(day) ORDER BY (tag, day) SETTINGS index_granularity = 256"},
	}
	for _, tt := range tests {
		columns, engine, ok := Split(tt.create)
		if !ok || columns != tt.columns || engine != tt.engine {
			t.Errorf("Split(%q) = %q, %q, %v; want %q, %q", tt.create, columns, engine, ok, tt.columns, tt.engine)
		}
	}
	if _, _, ok := Split("CREATE VIEW db.v AS SELECT 1"); ok {
		t.Error("Split of a view: ok")
	}
}
