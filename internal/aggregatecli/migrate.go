package aggregatecli

import (
	"fmt"

	"github.com/spf13/cobra"

	"tagpulse/internal/chstore"
	"tagpulse/internal/command"
)

func newMigrateCmd() *cobra.Command {
	var (
		store chstore.Config
		logs  command.Logging
	)
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create the database named in the DSN when missing, then create or upgrade the schema",
		Long: `migrate creates the ClickHouse database named in CLICKHOUSE_DSN when it is
missing and applies every schema migration not yet recorded in its
schema_migrations table. It is safe to run any number of times, and by two
replicas at once.`,
		Args: cobra.NoArgs,
	}
	flags := command.Flags(cmd)
	store.RegisterFlags(flags)
	logs.RegisterFlags(flags)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := logs.Start(cmd, flags, &store)
		if err != nil {
			return err
		}
		applied, err := chstore.Migrate(cmd.Context(), store)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		log.Info("schema up to date", "applied", applied)
		return nil
	}
	return cmd
}
