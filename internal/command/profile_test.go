package command

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
)

func TestCPUProfile(t *testing.T) {
	tests := []struct {
		name    string
		runErr  error
		profile bool
	}{
		{name: "off", profile: false},
		{name: "command succeeds", profile: true},
		{name: "command fails", runErr: errors.New("boom"), profile: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cpu.prof")
			root := &cobra.Command{Use: "root", SilenceErrors: true, SilenceUsage: true}
			sub := &cobra.Command{Use: "sub", RunE: func(*cobra.Command, []string) error { return tt.runErr }}
			root.AddCommand(sub)
			AddCPUProfile(root)
			args := []string{"sub"}
			if tt.profile {
				args = append(args, "--cpu-profile", path)
			}
			root.SetArgs(args)
			if err := root.Execute(); !errors.Is(err, tt.runErr) {
				t.Fatalf("Execute() = %v, want %v", err, tt.runErr)
			}
			b, err := os.ReadFile(path)
			if !tt.profile {
				if err == nil {
					t.Fatal("a profile was written without --cpu-profile")
				}
				return
			}
			// A pprof profile is gzip-compressed protobuf.
			if err != nil || !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
				t.Fatalf("profile %q: %v, want a gzip stream", b, err)
			}
			// The profiler is stopped: another command can start it.
			root.SetArgs([]string{"sub", "--cpu-profile", path + "2"})
			if err := root.Execute(); !errors.Is(err, tt.runErr) {
				t.Fatalf("second Execute() = %v", err)
			}
		})
	}
}
