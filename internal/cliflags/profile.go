package cliflags

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"tagpulse/internal/envflag"
)

// AddCPUProfile gives root and every subcommand a --cpu-profile flag
// (TAGPULSE_CPU_PROFILE): when set, the subcommand runs under the Go CPU
// profiler and writes the profile to that file when it returns, for
// `go tool pprof`. A subcommand that fails still writes what was profiled.
func AddCPUProfile(root *cobra.Command) {
	var path string
	var file *os.File
	envflag.New(root.PersistentFlags()).String(&path, "cpu-profile", "TAGPULSE_CPU_PROFILE", "",
		"write a CPU profile of the command to this file (for go tool pprof)")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if path == "" {
			return nil
		}
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("cpu profile: %w", err)
		}
		file = f
		return nil
	}
	root.PersistentPostRunE = func(*cobra.Command, []string) error { return stopCPUProfile(&file) }
	// PersistentPostRunE does not run after a failed RunE; wrap every
	// subcommand's RunE so the profile is complete either way.
	for _, c := range root.Commands() {
		wrapRunE(c, &file)
	}
}

func wrapRunE(c *cobra.Command, file **os.File) {
	for _, sub := range c.Commands() {
		wrapRunE(sub, file)
	}
	run := c.RunE
	if run == nil {
		return
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		err := run(cmd, args)
		if err != nil {
			stopCPUProfile(file)
		}
		return err
	}
}

func stopCPUProfile(file **os.File) error {
	if *file == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := (*file).Close()
	*file = nil
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	return nil
}
