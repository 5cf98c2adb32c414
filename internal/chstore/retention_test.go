package chstore

import (
	"testing"
	"time"
)

func TestExpired(t *testing.T) {
	cutoff := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		table, id string
		want      bool
		wantErr   bool
	}{
		{"mentions", "20260309", true, false},
		{"mentions", "20260310", false, false},
		{"tag_minute", "20251231", true, false},
		{"tag_display", "202602", true, false},
		{"tag_display", "202603", false, false},
		{"alert_state", "202602", true, false},
		{"alert_state", "202603", false, false},
		{"mentions", "2026-03-09", false, true},
		{"mentions", "1 OR 1", false, true},
		{"schema_migrations", "20260101", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.table+"/"+tt.id, func(t *testing.T) {
			got, err := expired(tt.table, tt.id, cutoff)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("expired(%s, %s) = %v, %v; want %v, error %v", tt.table, tt.id, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
