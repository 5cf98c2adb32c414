package aggregatecli

import (
	"fmt"

	"github.com/spf13/cobra"

	"tagpulse/internal/chstore"
	"tagpulse/internal/command"
	"tagpulse/internal/rollup"
)

func newMigrateCmd() *cobra.Command {
	var (
		store  chstore.Config
		logs   command.Logging
		dropV1 bool
		all    bool
	)
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create the database named in the DSN when missing, then create or upgrade the schema",
		Long: `migrate creates the ClickHouse database named in CLICKHOUSE_DSN when it is
missing and applies every schema migration not yet recorded in its
schema_migrations table. It is safe to run any number of times, and by two
replicas at once.

On a schema v1 database it upgrades to schema v2 in place
(docs/schema-v2.md): it copies mentions one day at a time into the new
order, with progress on stderr (interrupted, it resumes at the first day not
copied), then computes the hour and day rollups of all of history. Stop the
aggregators first; Kafka keeps their backlog. v1's tables are kept under
mentions_v1, tag_minute and tag_display until --drop-v1.

It then brings the rollups up to date. --rollup-all recomputes them for all
of history, as after restoring a dump into mentions (docs/operations.md).

With --cluster NAME it creates or upgrades the schema on that ClickHouse
cluster (a name in the servers' <remote_servers>) instead: replicated
tables in DATABASE_local on every server, Distributed tables over them in
DATABASE, sharded by post (docs/scaling.md, "The schema on a cluster").
Every server of the cluster must be up.`,
		Args: cobra.NoArgs,
	}
	flags := command.Flags(cmd)
	store.RegisterFlags(flags)
	logs.RegisterFlags(flags)
	flags.Bool(&dropV1, "drop-v1", "", false, "drop the tables schema v1 left behind after an upgrade (mentions_v1, tag_minute, tag_display)")
	flags.Bool(&all, "rollup-all", "", false, "recompute the hour and day rollups of all of history from mentions (after a restore into mentions)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := logs.Start(cmd, flags, &store)
		if err != nil {
			return err
		}
		if cluster := store.Cluster; cluster != "" {
			if dropV1 || all {
				return fmt.Errorf("migrate: --drop-v1 and --rollup-all do not apply with --cluster")
			}
			applied, err := chstore.MigrateCluster(cmd.Context(), store, cluster, cmd.ErrOrStderr())
			if err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			log.Info("schema up to date on the cluster", "cluster", cluster, "applied", applied)
			return nil
		}
		applied, err := chstore.MigrateProgress(cmd.Context(), store, cmd.ErrOrStderr())
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		conn, err := chstore.Open(cmd.Context(), store)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer conn.Close()
		if dropV1 {
			if err := chstore.DropV1(cmd.Context(), conn); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
		}
		if all {
			if err := rollup.MarkAll(cmd.Context(), conn); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
		}
		if err := catchUp(cmd.Context(), rollup.NewWorker(conn, log, nil), cmd.ErrOrStderr(), log); err != nil {
			return fmt.Errorf("migrate: bringing the rollups up to date: %w", err)
		}
		log.Info("schema up to date", "applied", applied)
		return nil
	}
	return cmd
}
