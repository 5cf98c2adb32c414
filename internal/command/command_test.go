package command

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

type check struct{ err error }

func (c check) Validate() error { return c.err }

func TestStart(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		level   string
		configs []Validator
		wantErr string
	}{
		{name: "ok", level: "info", configs: []Validator{check{}}},
		{name: "bad environment", env: "soon", level: "info", wantErr: "TEST_WAIT"},
		{name: "bad level", level: "chatty", wantErr: "log level"},
		{name: "config refused", level: "info", configs: []Validator{check{}, check{errors.New("no brokers")}}, wantErr: "no brokers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TEST_WAIT", tt.env)
			cmd := &cobra.Command{Use: "x"}
			var stderr bytes.Buffer
			cmd.SetErr(&stderr)
			s := Flags(cmd)
			var wait int
			s.Int(&wait, "wait", "TEST_WAIT", 1, "wait")
			l := Logging{Level: tt.level, Format: "text"}
			log, err := l.Start(cmd, s, tt.configs...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Info("hello")
			if !strings.Contains(stderr.String(), "hello") {
				t.Fatalf("the logger does not write to the command's stderr: %q", stderr.String())
			}
		})
	}
}
