package deploycheck

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"tagpulse/internal/testkit/stacktest"
	"testing"
	"time"
)

// The commands compose.yaml gives the tagpulse services are accepted by
// the real binaries: cobra parses every flag before it honours --help, so
// a renamed or misspelt flag fails here instead of in a container.
func TestComposeCommandsParse(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	p, _ := loadComposeExample(t)
	bin := stacktest.Binaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range []string{"migrate", "ingest", "aggregate"} {
		t.Run(name, func(t *testing.T) {
			command := service(t, p, name).Command
			if len(command) == 0 {
				t.Fatal("no command")
			}
			cmd := exec.CommandContext(ctx, filepath.Join(bin, command[0]), append(command[1:], "--help")...)
			cmd.Env = []string{"PATH=/usr/bin:/bin"}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s --help: %v\n%s", strings.Join(command, " "), err, out.String())
			}
			if !strings.Contains(out.String(), "Usage:") {
				t.Errorf("%s --help printed no usage:\n%s", strings.Join(command, " "), out.String())
			}
		})
	}
}
