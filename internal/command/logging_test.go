package command

import (
	"bytes"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	tests := []struct {
		level, format string
		wantErr       bool
		logsInfo      bool
	}{
		{"info", "text", false, true},
		{"warn", "json", false, false},
		{"loud", "text", true, false},
		{"info", "xml", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.level+"/"+tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := NewLogger(&buf, tt.level, tt.format)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			l.Info("hello")
			if got := strings.Contains(buf.String(), "hello"); got != tt.logsInfo {
				t.Fatalf("info logged = %v, want %v (%q)", got, tt.logsInfo, buf.String())
			}
		})
	}
}
