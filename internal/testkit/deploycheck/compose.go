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
	return LoadComposeFile(ctx, root, ComposeFile, envFile)
}

// LoadComposeFile is LoadCompose for the compose file at file, relative to
// root (ComposeFile or ClusterComposeFile); relative paths in it resolve
// from its own directory, as `docker compose -f file` resolves them.
func LoadComposeFile(ctx context.Context, root, file, envFile string) (*types.Project, error) {
	path := filepath.Join(root, file)
	opts, err := cli.NewProjectOptions(
		[]string{path},
		cli.WithWorkingDirectory(filepath.Dir(path)),
		cli.WithEnvFiles(envFile),
		cli.WithDotEnv,
	)
	if err != nil {
		return nil, fmt.Errorf("compose options: %w", err)
	}
	project, err := opts.LoadProject(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", file, err)
	}
	return project, nil
}
