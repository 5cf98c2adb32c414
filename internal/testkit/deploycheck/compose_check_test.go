package deploycheck

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// The check service refuses the placeholders of .env.example. Its script is
// run here with /bin/sh and the environment compose-go resolved for it, as
// the container would run it.
func TestComposeCheckRefusesExampleSecrets(t *testing.T) {
	p, env := loadComposeExample(t)
	checkCheckScript(t, p, env, []string{"CLICKHOUSE_PASSWORD", "CLICKHOUSE_GRAFANA_PASSWORD", "KAFKA_SASL_PASSWORD", "INGEST_WEBHOOK_TOKEN", "GRAFANA_ADMIN_PASSWORD", "ALERT_WEBHOOK_URL"})
	t.Run("every service waits for the check", func(t *testing.T) {
		for _, name := range []string{"kafka", "clickhouse", "prometheus", "alertmanager"} {
			if d, ok := service(t, p, name).DependsOn["check"]; !ok || d.Condition != "service_completed_successfully" {
				t.Errorf("%s: depends_on check = %+v, want service_completed_successfully", name, d)
			}
		}
	})
}

// checkCheckScript runs the check service of p with the example's values
// env, with its secrets replaced, and with one placeholder, cluster id or
// quote left: it must refuse all but the second.
func checkCheckScript(t *testing.T, p *types.Project, env map[string]string, secrets []string) {
	t.Helper()
	check := service(t, p, "check")
	if len(check.Entrypoint) != 2 || check.Entrypoint[0] != "/bin/sh" || check.Entrypoint[1] != "-c" || len(check.Command) != 1 {
		t.Fatalf("check: entrypoint %v command %d items, want /bin/sh -c SCRIPT", check.Entrypoint, len(check.Command))
	}
	script := check.Command[0]
	base := map[string]string{}
	for k, v := range check.Environment {
		if v != nil {
			base[k] = *v
		}
	}
	own := func() map[string]string {
		m := make(map[string]string, len(base))
		for k, v := range base {
			m[k] = v
		}
		for _, s := range secrets {
			m[s] = "own-" + strings.ToLower(s)
		}
		m["KAFKA_CLUSTER_ID"] = "MkU3OEVBNTcwNTJENDM2Qk"
		return m
	}
	tests := []struct {
		name     string
		env      map[string]string
		wantExit int
		wantOut  []string
	}{
		{"the example as it is", base, 1, append([]string{"KAFKA_CLUSTER_ID is the example's"}, secrets...)},
		{"every value changed", own(), 0, nil},
		{"one placeholder left", func() map[string]string { m := own(); m["KAFKA_SASL_PASSWORD"] = env["KAFKA_SASL_PASSWORD"]; return m }(), 1, []string{"KAFKA_SASL_PASSWORD in .env is still"}},
		{"the example's cluster id", func() map[string]string { m := own(); m["KAFKA_CLUSTER_ID"] = env["KAFKA_CLUSTER_ID"]; return m }(), 1, []string{"KAFKA_CLUSTER_ID is the example's"}},
		{"a quote in a password", func() map[string]string { m := own(); m["CLICKHOUSE_GRAFANA_PASSWORD"] = "it's"; return m }(), 1, []string{"CLICKHOUSE_GRAFANA_PASSWORD must not contain quotes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "/bin/sh", "-c", script)
			cmd.Env = []string{"PATH=/usr/bin:/bin"}
			for k, v := range tt.env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			exit := 0
			if ee, ok := err.(*exec.ExitError); ok {
				exit = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if exit != tt.wantExit {
				t.Errorf("exit %d, want %d; output:\n%s", exit, tt.wantExit, out.String())
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			if tt.wantExit == 0 && out.Len() != 0 {
				t.Errorf("output = %q, want none", out.String())
			}
		})
	}
}

// Grafana reads ClickHouse with the read-only account that the init script
// mounted into the ClickHouse container creates, never the administrator's;
// Kafka's client listeners take SASL only.
func TestComposeLeastPrivilege(t *testing.T) {
	p, env := loadComposeExample(t)
	root := repoRoot(t)

	grafana := service(t, p, "grafana").Environment
	if got := deref(grafana["CLICKHOUSE_GRAFANA_USER"]); got != env["CLICKHOUSE_GRAFANA_USER"] || got == env["CLICKHOUSE_USER"] {
		t.Errorf("grafana CLICKHOUSE_GRAFANA_USER = %q, want the .env reader %q, not the administrator", got, env["CLICKHOUSE_GRAFANA_USER"])
	}
	if _, ok := grafana["CLICKHOUSE_PASSWORD"]; ok {
		t.Error("grafana gets the administrator's CLICKHOUSE_PASSWORD")
	}
	datasources, err := os.ReadFile(filepath.Join(root, ComposeDir, "grafana/provisioning/datasources/tagpulse.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"username: $CLICKHOUSE_GRAFANA_USER", "password: $CLICKHOUSE_GRAFANA_PASSWORD"} {
		if !strings.Contains(string(datasources), want) {
			t.Errorf("datasource provisioning lacks %q", want)
		}
	}

	mounted := ""
	for _, v := range service(t, p, "clickhouse").Volumes {
		if v.Target == "/docker-entrypoint-initdb.d" {
			mounted = v.Source
		}
	}
	if mounted == "" {
		t.Fatal("clickhouse: no init scripts mounted at /docker-entrypoint-initdb.d")
	}
	script, err := os.ReadFile(filepath.Join(mounted, "10-grafana-reader.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CREATE USER IF NOT EXISTS", "readonly = 2", "GRANT SELECT ON \\`${CLICKHOUSE_DB}\\`.* TO \\`${CLICKHOUSE_GRAFANA_USER}\\`"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("10-grafana-reader.sh lacks %q", want)
		}
	}
	if strings.Contains(string(script), "GRANT ALL") || strings.Contains(string(script), "INSERT") {
		t.Error("10-grafana-reader.sh grants more than SELECT")
	}

	protocols := deref(service(t, p, "kafka").Environment["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"])
	for _, want := range []string{"INTERNAL:SASL_PLAINTEXT", "HOST:SASL_PLAINTEXT"} {
		if !strings.Contains(protocols, want) {
			t.Errorf("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP = %q, want %s", protocols, want)
		}
	}
}
