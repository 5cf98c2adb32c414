package trend

import (
	"errors"
	"testing"
	"time"
)

func TestParseAt(t *testing.T) {
	tests := []struct {
		value   string
		want    time.Time
		wantErr string
	}{
		{"2025-11-20T14:00:00Z", time.Date(2025, 11, 20, 14, 0, 0, 0, time.UTC), ""},
		{"2025-11-20", time.Time{}, `--at "2025-11-20": want an RFC 3339 time such as 2025-11-20T14:00:00Z`},
		{"yesterday", time.Time{}, `--at "yesterday": want an RFC 3339 time such as 2025-11-20T14:00:00Z`},
	}
	for _, tt := range tests {
		got, err := ParseAt("--at", tt.value)
		if tt.wantErr == "" {
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("ParseAt(%q) = %v, %v; want %v", tt.value, got, err, tt.want)
			}
			continue
		}
		if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("ParseAt(%q) error %v, want %q (an ErrInvalidQuery)", tt.value, err, tt.wantErr)
		}
	}
}
