package chstore

import (
	"errors"
	"testing"
	"time"
)

func TestDayRange(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name     string
		from, to time.Time
		want     int
		wantErr  error
	}{
		{"one day", day(1), day(2), 1, nil},
		{"across a month end", time.Date(2026, 2, 27, 0, 0, 0, 0, time.UTC), day(2), 3, nil},
		{"midnight UTC in another zone", day(1).In(paris), day(3).In(paris), 2, nil},
		{"not midnight", day(1).Add(time.Hour), day(2), 0, ErrNotWholeDays},
		{"midnight in Paris is not UTC", time.Date(2026, 3, 1, 0, 0, 0, 0, paris), day(2), 0, ErrNotWholeDays},
		{"empty", day(2), day(2), 0, nil},
		{"backwards", day(3), day(2), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DayRange(tt.from, tt.to)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if tt.want == 0 {
				if err == nil {
					t.Fatalf("days %v, want an error for an empty range", got)
				}
				return
			}
			if err != nil || len(got) != tt.want || !got[0].Equal(tt.from) {
				t.Fatalf("days %v, %v; want %d from %s", got, err, tt.want, tt.from)
			}
		})
	}
}
