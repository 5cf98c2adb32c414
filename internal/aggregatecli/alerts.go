package aggregatecli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/spf13/cobra"

	"tagpulse/internal/alert"
	"tagpulse/internal/chstore"
	"tagpulse/internal/command"
	"tagpulse/internal/trend"
)

func newAlertsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Work with the alert rules of --alerts-file",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newAlertsTestCmd())
	return cmd
}

func newAlertsTestCmd() *cobra.Command {
	var (
		cfg   alert.Config
		store chstore.Config
		logs  command.Logging
		at    string
	)
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Dry-run the alert rules against the current counts and print what would fire; sends nothing",
		Long: `test loads the rules of --alerts-file (AGGREGATE_ALERTS_FILE), evaluates
each against the counts in ClickHouse as ` + "`aggregate run`" + ` would, and prints
one line per rule and tag that fires, saying whether it would be sent or
is in its cooldown (from the alert_state table). It posts to no webhook
and records nothing.`,
		Args: cobra.NoArgs,
	}
	flags := command.Flags(cmd)
	cfg.RegisterFlags(flags)
	store.RegisterFlags(flags)
	logs.RegisterFlags(flags)
	cmd.Flags().StringVar(&at, "at", "", "evaluate as of this time (RFC 3339) instead of now")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if _, err := logs.Start(cmd, flags, &store); err != nil {
			return err
		}
		if cfg.File == "" {
			return errors.New("alerts test: give the rules file with --alerts-file or AGGREGATE_ALERTS_FILE")
		}
		rules, err := cfg.Load()
		if err != nil {
			return err
		}
		now := time.Now()
		if at != "" {
			if now, err = trend.ParseAt("--at", at); err != nil {
				return err
			}
		}
		conn, err := chstore.Open(cmd.Context(), store)
		if err != nil {
			return trend.MissingSchema(err)
		}
		defer conn.Close()
		ev := alert.New(alert.Options{Rules: rules, Store: trend.NewStore(conn, trend.DefaultParams()).OnCluster(store)})
		fired, err := ev.Check(cmd.Context(), now)
		if err != nil {
			return fmt.Errorf("alerts test: %w", trend.MissingSchema(err))
		}
		return printFirings(cmd, cmd.OutOrStdout(), rules, alert.NewState(conn), fired, now)
	}
	return cmd
}

// printFirings writes one line per firing, with what its cooldown says.
func printFirings(cmd *cobra.Command, w io.Writer, rules *alert.Rules, state *alert.State, fired []alert.Firing, now time.Time) error {
	cooldowns := map[string]time.Duration{}
	for _, r := range rules.Rules {
		cooldowns[r.Name] = time.Duration(r.Cooldown)
	}
	if len(fired) == 0 {
		fmt.Fprintf(w, "no rule fires at %s UTC (%d rules checked)\n", now.UTC().Format("2006-01-02 15:04"), len(rules.Rules))
		return nil
	}
	for _, f := range fired {
		last, ok, err := state.LastSent(cmd.Context(), f.Key())
		if err != nil {
			return fmt.Errorf("alerts test: %w (has `aggregate migrate` been run?)", err)
		}
		verdict := "would send"
		if until := last.Add(cooldowns[f.Rule]); ok && now.Before(until) {
			verdict = "in cooldown until " + until.UTC().Format("2006-01-02 15:04:05") + " UTC"
		}
		fmt.Fprintf(w, "%s: %s\n", verdict, f.Text())
	}
	return nil
}

// newEvaluator builds the alert evaluator of `aggregate run`, which
// queries and records through conn and counts in m.
func newEvaluator(rules *alert.Rules, conn driver.Conn, store chstore.Config, m *alert.Metrics, log *slog.Logger) *alert.Evaluator {
	return alert.New(alert.Options{
		Rules:    rules,
		Store:    trend.NewStore(conn, trend.DefaultParams()).OnCluster(store),
		State:    alert.NewState(conn),
		Notifier: alert.NewNotifier(rules.BaseURL),
		Metrics:  m,
		Log:      log.With("component", "alerts"),
	})
}
