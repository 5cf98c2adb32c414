package trend

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestQueryTimeWithinClickHouseDateTime(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		at     string
		window time.Duration
		want   string // "" for valid
	}{
		{"2025-11-20T14:37:30Z", 90 * day, ""},
		{"1970-01-01T00:59:00Z", time.Hour, ""},
		{"1970-01-01T00:59:00Z", 2 * time.Hour, "must lie between 1970-01-01T00:00:00Z and 2106-02-07T06:28:15Z"},
		{"1969-06-01T00:00:00Z", time.Hour, "at 1969-06-01T00:00:00Z: the window of 1h"},
		{"2106-02-07T06:27:00Z", time.Hour, ""},
		{"2106-02-07T06:28:00Z", time.Hour, "must lie between"},
		{"9999-01-01T00:00:00Z", time.Hour, "must lie between"},
	}
	for _, tt := range tests {
		t.Run(tt.at+" "+FormatDuration(tt.window), func(t *testing.T) {
			at, err := time.Parse(time.RFC3339, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			q := Query{At: at, Window: tt.window, Limit: 10}
			// Series steps are aligned to the step, so a 1m step keeps
			// the window's end; 90d is charted by day.
			step := time.Minute
			if tt.window > 24*time.Hour {
				step = 24 * time.Hour
			}
			sq := SeriesQuery{At: at, Window: tt.window, Step: step, Tags: []string{"a"}}
			for name, err := range map[string]error{"top": q.Validate(), "series": sq.Validate()} {
				switch {
				case tt.want == "" && err != nil:
					t.Errorf("%s: %v, want valid", name, err)
				case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalidQuery)):
					t.Errorf("%s: %v, want an invalid query saying %q", name, err, tt.want)
				}
			}
		})
	}
}

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
