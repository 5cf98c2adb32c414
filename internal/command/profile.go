package command

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// AddCPUProfile gives root and every subcommand a --cpu-profile flag
// (TAGPULSE_CPU_PROFILE): when set, the subcommand runs under the Go CPU
// profiler and writes the profile to that file when it returns, failed or
// not, for `go tool pprof`.
func AddCPUProfile(root *cobra.Command) {
	var path string
	NewFlagSet(root.PersistentFlags()).String(&path, "cpu-profile", "TAGPULSE_CPU_PROFILE", "",
		"write a CPU profile of the command to this file (for go tool pprof)")
	var wrap func(c *cobra.Command)
	wrap = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			wrap(sub)
		}
		run := c.RunE
		if run == nil {
			return
		}
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if path == "" {
				return run(cmd, args)
			}
			stop, err := startCPUProfile(path)
			if err != nil {
				return err
			}
			err = run(cmd, args)
			if serr := stop(); err == nil {
				err = serr
			}
			return err
		}
	}
	wrap(root)
}

// startCPUProfile starts the profiler writing to path; stop ends it and
// closes the file.
func startCPUProfile(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		return nil
	}, nil
}
