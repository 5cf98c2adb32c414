package deploycheck

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// LoadCompose loads root's compose.yaml the way `docker compose` does,
// with the variables of envFile (for example the .env.example beside it)
// and nothing from the process environment, so the result does not depend
// on who runs it. Interpolation, required variables (${X:?…}), YAML
// anchors and merge keys, and the compose schema are all checked.
func LoadCompose(ctx context.Context, root, envFile string) (*types.Project, error) {
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, ComposeFile)},
		cli.WithWorkingDirectory(filepath.Join(root, ComposeDir)),
		cli.WithEnvFiles(envFile),
		cli.WithDotEnv,
	)
	if err != nil {
		return nil, fmt.Errorf("compose options: %w", err)
	}
	project, err := opts.LoadProject(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", ComposeFile, err)
	}
	return project, nil
}
