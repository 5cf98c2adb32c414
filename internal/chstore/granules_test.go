package chstore

import "testing"

func TestKeyedColumns(t *testing.T) {
	tests := []struct{ columns, want string }{
		// 18.16's spelling, before migration 0009.
		{"( day DateTime, tag String, posts UInt64, accounts AggregateFunction(uniqCombined(15), String))",
			"( day DateTime, tag String, posts UInt64, accounts AggregateFunction(uniqCombined(15), String), " + accountCountColumn + ")"},
		// 26.9's, before.
		{"( `day` DateTime, `tag` String, `accounts` AggregateFunction(uniqCombined(15), String) )",
			"( `day` DateTime, `tag` String, `accounts` AggregateFunction(uniqCombined(15), String), " + accountCountColumn + ")"},
		// After: unchanged.
		{"( `day` DateTime, `accounts` AggregateFunction(uniqCombined(15), String), `account_count` UInt64 MATERIALIZED finalizeAggregation(accounts) )",
			"( `day` DateTime, `accounts` AggregateFunction(uniqCombined(15), String), `account_count` UInt64 MATERIALIZED finalizeAggregation(accounts) )"},
		// No accounts state (tag_display_day): unchanged.
		{"( day DateTime, tag String, display String, posts UInt64)", "( day DateTime, tag String, display String, posts UInt64)"},
	}
	for _, tt := range tests {
		if got := keyedColumns(tt.columns); got != tt.want {
			t.Errorf("keyedColumns(%q)\n = %q\nwant %q", tt.columns, got, tt.want)
		}
	}
}
