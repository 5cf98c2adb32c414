package deploycheck

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func loadComposeExample(t *testing.T) (*types.Project, map[string]string) {
	t.Helper()
	return loadComposeWithExample(t, ComposeFile, EnvExampleFile)
}

// loadComposeWithExample loads the compose file with the variables of the
// .env.example beside it, and returns those variables too.
func loadComposeWithExample(t *testing.T, file, example string) (*types.Project, map[string]string) {
	t.Helper()
	root := repoRoot(t)
	envFile := filepath.Join(root, example)
	env, err := dotenv.GetEnvFromFile(nil, []string{envFile})
	if err != nil {
		t.Fatalf("reading %s: %v", example, err)
	}
	project, err := LoadComposeFile(context.Background(), root, file, envFile)
	if err != nil {
		t.Fatal(err)
	}
	return project, env
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %s: %v", name, err)
	}
	return s
}

func TestComposeServices(t *testing.T) {
	p, env := loadComposeExample(t)
	checkServices(t, p, env, []string{"aggregate", "alertmanager", "check", "clickhouse", "grafana", "ingest", "kafka", "migrate", "prometheus"})
}

// checkServices checks that p has exactly the services want, each image
// pinned to a version and the tagpulse services built from the repository
// root with the tag TAGPULSE_VERSION of env.
func checkServices(t *testing.T, p *types.Project, env map[string]string, want []string) {
	t.Helper()
	got := p.ServiceNames()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("services = %v, want %v", got, want)
	}

	for _, name := range want {
		t.Run(name+"/image pinned", func(t *testing.T) {
			s := service(t, p, name)
			ref := s.Image
			// The tag follows the last colon after the last slash.
			tag := ""
			if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
				tag = ref[i+1:]
			}
			if tag == "" || tag == "latest" {
				t.Errorf("image %q: want an explicit version tag", ref)
			}
			if s.Build != nil && tag != env["TAGPULSE_VERSION"] {
				t.Errorf("built image %q: want tag TAGPULSE_VERSION=%s", ref, env["TAGPULSE_VERSION"])
			}
		})
	}

	t.Run("tagpulse services build from the root Dockerfile", func(t *testing.T) {
		for _, name := range []string{"migrate", "ingest", "aggregate"} {
			s := service(t, p, name)
			if s.Build == nil {
				t.Errorf("%s: no build section", name)
				continue
			}
			dockerfile := filepath.Join(s.Build.Context, s.Build.Dockerfile)
			if !isFile(dockerfile) || !isFile(filepath.Join(s.Build.Context, "go.mod")) {
				t.Errorf("%s: build context %s with %s is not the repository root", name, s.Build.Context, s.Build.Dockerfile)
			}
		}
	})
}

func TestComposeHealthchecks(t *testing.T) {
	p, _ := loadComposeExample(t)
	checkHealthchecks(t, p, []string{"kafka", "clickhouse", "prometheus", "alertmanager", "grafana", "aggregate", "ingest"}, []string{"migrate", "check"})
}

// checkHealthchecks checks that every long-running service has a
// healthcheck with an interval and retries, and that every job runs once.
func checkHealthchecks(t *testing.T, p *types.Project, services, jobs []string) {
	t.Helper()
	for _, name := range services {
		t.Run(name, func(t *testing.T) {
			hc := service(t, p, name).HealthCheck
			if hc == nil || hc.Disable || len(hc.Test) < 2 || hc.Test[0] == "NONE" {
				t.Fatalf("healthcheck = %+v, want a test command", hc)
			}
			if hc.Interval == nil || hc.Retries == nil {
				t.Errorf("healthcheck %v: want interval and retries", hc.Test)
			}
		})
	}
	for _, name := range jobs {
		t.Run(name+" is a one-shot job", func(t *testing.T) {
			if r := service(t, p, name).Restart; r != "no" {
				t.Errorf("%s restart = %q, want \"no\"", name, r)
			}
		})
	}
}

func TestComposeDependencies(t *testing.T) {
	p, _ := loadComposeExample(t)
	checkDependencies(t, p, []serviceDeps{
		{"migrate", map[string]string{"clickhouse": types.ServiceConditionHealthy}},
		{"ingest", map[string]string{"kafka": types.ServiceConditionHealthy}},
		{"aggregate", map[string]string{
			"kafka":      types.ServiceConditionHealthy,
			"clickhouse": types.ServiceConditionHealthy,
			"migrate":    types.ServiceConditionCompletedSuccessfully,
		}},
		{"grafana", map[string]string{
			"prometheus": types.ServiceConditionHealthy,
			"clickhouse": types.ServiceConditionHealthy,
		}},
	})
}

// serviceDeps is a service and the condition it waits for on each of its
// dependencies, all of them.
type serviceDeps struct {
	service string
	deps    map[string]string
}

func checkDependencies(t *testing.T, p *types.Project, tests []serviceDeps) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			got := service(t, p, tt.service).DependsOn
			if len(got) != len(tt.deps) {
				t.Errorf("depends_on has %d services, want %d (%v)", len(got), len(tt.deps), tt.deps)
			}
			for dep, cond := range tt.deps {
				d, ok := got[dep]
				if !ok {
					t.Errorf("no depends_on %s", dep)
					continue
				}
				if d.Condition != cond {
					t.Errorf("depends_on %s: condition %q, want %q", dep, d.Condition, cond)
				}
				if cond == types.ServiceConditionHealthy && service(t, p, dep).HealthCheck == nil {
					t.Errorf("depends_on %s healthy, but %s has no healthcheck", dep, dep)
				}
			}
		})
	}
}

func TestComposePorts(t *testing.T) {
	p, _ := loadComposeExample(t)
	checkPorts(t, p, []servicePorts{
		{"kafka", []uint32{9092}},
		{"clickhouse", []uint32{9000, 8123}},
		{"prometheus", []uint32{9090}},
		{"alertmanager", []uint32{9093}},
		{"grafana", []uint32{3000}},
		{"ingest", []uint32{9101, 8090}},
		{"aggregate", []uint32{8080}},
	})
}

// servicePorts is a service and the ports it publishes, each on 127.0.0.1
// with the same number.
type servicePorts struct {
	service string
	ports   []uint32
}

// checkPorts checks the published ports of the services in tests, and that
// no other service publishes any.
func checkPorts(t *testing.T, p *types.Project, tests []servicePorts) {
	t.Helper()
	listed := map[string]bool{}
	for _, tt := range tests {
		listed[tt.service] = true
	}
	for _, s := range p.Services {
		if !listed[s.Name] && len(s.Ports) > 0 {
			t.Errorf("%s publishes %d ports, want none", s.Name, len(s.Ports))
		}
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			var got []uint32
			for _, port := range service(t, p, tt.service).Ports {
				if port.HostIP != "127.0.0.1" {
					t.Errorf("port %d published on %q, want 127.0.0.1 only", port.Target, port.HostIP)
				}
				if want := strconv.FormatUint(uint64(port.Target), 10); port.Published != want {
					t.Errorf("port %d published as %q, want %s", port.Target, port.Published, want)
				}
				got = append(got, port.Target)
			}
			if !slices.Equal(got, tt.ports) {
				t.Errorf("ports = %v, want %v", got, tt.ports)
			}
		})
	}
}

func TestComposeVolumes(t *testing.T) {
	p, _ := loadComposeExample(t)
	tests := []struct {
		service, volume, target string
	}{
		{"kafka", "kafka-data", "/var/lib/kafka/data"},
		{"clickhouse", "clickhouse-data", "/var/lib/clickhouse"},
		{"prometheus", "prometheus-data", "/prometheus"},
		{"grafana", "grafana-data", "/var/lib/grafana"},
		{"alertmanager", "alertmanager-data", "/alertmanager"},
		{"ingest", "ingest-state", "/var/lib/tagpulse/ingest"},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			if _, ok := p.Volumes[tt.volume]; !ok {
				t.Errorf("named volume %s not declared", tt.volume)
			}
			found := false
			for _, v := range service(t, p, tt.service).Volumes {
				if v.Type == types.VolumeTypeVolume && v.Source == tt.volume && v.Target == tt.target {
					found = true
				}
			}
			if !found {
				t.Errorf("volume %s is not mounted at %s", tt.volume, tt.target)
			}
		})
	}
	t.Run("bind mounts exist and are read-only", func(t *testing.T) {
		for _, s := range p.Services {
			for _, v := range s.Volumes {
				if v.Type != types.VolumeTypeBind {
					continue
				}
				if _, err := os.Stat(v.Source); err != nil {
					t.Errorf("%s: bind mount source: %v", s.Name, err)
				}
				if !v.ReadOnly {
					t.Errorf("%s: bind mount %s is writable, want :ro", s.Name, v.Source)
				}
			}
		}
	})
}

func TestComposeCommandsAndEnvironment(t *testing.T) {
	p, env := loadComposeExample(t)
	commands := map[string]string{
		"migrate":   "aggregate migrate",
		"aggregate": "aggregate run --http-addr 0.0.0.0:8080",
		"ingest":    "ingest run --webhook-addr 0.0.0.0:8090 --metrics-addr 0.0.0.0:9101",
	}
	for name, want := range commands {
		t.Run(name+"/command", func(t *testing.T) {
			if got := strings.Join(service(t, p, name).Command, " "); got != want {
				t.Errorf("command = %q, want %q", got, want)
			}
		})
	}
	for _, name := range []string{"migrate", "ingest", "aggregate"} {
		t.Run(name+"/environment", func(t *testing.T) {
			e := service(t, p, name).Environment
			wantEnv := map[string]string{
				"KAFKA_BROKERS":        "kafka:29092",
				"KAFKA_TOPIC":          env["KAFKA_TOPIC"],
				"CLICKHOUSE_DSN":       "clickhouse://" + env["CLICKHOUSE_USER"] + "@clickhouse:9000/" + env["CLICKHOUSE_DATABASE"],
				"CLICKHOUSE_PASSWORD":  env["CLICKHOUSE_PASSWORD"],
				"KAFKA_SASL_MECHANISM": "plain",
				"KAFKA_SASL_USERNAME":  env["KAFKA_SASL_USERNAME"],
				"KAFKA_SASL_PASSWORD":  env["KAFKA_SASL_PASSWORD"],
			}
			if name == "ingest" {
				wantEnv["INGEST_WEBHOOK_TOKEN"] = env["INGEST_WEBHOOK_TOKEN"]
				wantEnv["INGEST_SOURCES"] = env["INGEST_SOURCES"]
			}
			for k, want := range wantEnv {
				got := e[k]
				if got == nil || *got != want || want == "" {
					t.Errorf("%s = %v, want %q", k, deref(got), want)
				}
			}
			if dsn := deref(e["CLICKHOUSE_DSN"]); strings.Contains(dsn, env["CLICKHOUSE_PASSWORD"]) {
				t.Error("CLICKHOUSE_DSN carries the password; it belongs in CLICKHOUSE_PASSWORD")
			}
		})
	}
	t.Run("clickhouse", func(t *testing.T) {
		s := service(t, p, "clickhouse")
		if got := deref(s.Environment["CLICKHOUSE_PASSWORD"]); got != env["CLICKHOUSE_PASSWORD"] {
			t.Errorf("CLICKHOUSE_PASSWORD = %q, want the .env value", got)
		}
		if u := s.Ulimits["nofile"]; u == nil || u.Soft < 65536 || u.Hard < u.Soft {
			t.Errorf("ulimits nofile = %+v, want soft and hard of at least 65536", u)
		}
	})
	t.Run("kafka advertises the compose network and the host", func(t *testing.T) {
		adv := deref(service(t, p, "kafka").Environment["KAFKA_ADVERTISED_LISTENERS"])
		for _, want := range []string{"//kafka:29092", "//127.0.0.1:9092"} {
			if !strings.Contains(adv, want) {
				t.Errorf("KAFKA_ADVERTISED_LISTENERS = %q, want a listener %s", adv, want)
			}
		}
	})
	t.Run("grafana preinstalls the ClickHouse plugin", func(t *testing.T) {
		got := deref(service(t, p, "grafana").Environment["GF_PLUGINS_PREINSTALL"])
		if !slices.Contains(strings.Split(got, ","), ClickHouseType) {
			t.Errorf("GF_PLUGINS_PREINSTALL = %q, want %s", got, ClickHouseType)
		}
	})
}

// Secrets have no defaults: compose must refuse to start without them.
func TestComposeRequiresSecrets(t *testing.T) {
	checkRequiresSecrets(t, ComposeFile, EnvExampleFile, []string{"CLICKHOUSE_PASSWORD", "CLICKHOUSE_GRAFANA_PASSWORD", "KAFKA_SASL_PASSWORD", "INGEST_WEBHOOK_TOKEN", "GRAFANA_ADMIN_PASSWORD", "KAFKA_CLUSTER_ID", "ALERT_WEBHOOK_URL", "INGEST_SOURCES", "RUNBOOK_BASE_URL"})
}

// checkRequiresSecrets loads file with its example's variables less one
// secret at a time, and wants an error naming the missing one.
func checkRequiresSecrets(t *testing.T, file, example string, secrets []string) {
	t.Helper()
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, example))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range secrets {
		t.Run(secret, func(t *testing.T) {
			var kept []string
			for _, line := range strings.Split(string(raw), "\n") {
				if !strings.HasPrefix(line, secret+"=") {
					kept = append(kept, line)
				}
			}
			if len(kept) == len(strings.Split(string(raw), "\n")) {
				t.Fatalf("%s does not set %s", example, secret)
			}
			envFile := filepath.Join(t.TempDir(), "env")
			if err := os.WriteFile(envFile, []byte(strings.Join(kept, "\n")), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadComposeFile(context.Background(), root, file, envFile)
			if err == nil || !strings.Contains(err.Error(), secret) {
				t.Errorf("loading without %s: err = %v, want an error naming it", secret, err)
			}
		})
	}
}

// The Prometheus of the compose project finds every replica of ingest and
// aggregate (and ClickHouse's exporter) by DNS: one target per A record of
// the service name, so `--scale aggregate=3` gives three targets rather
// than one replica picked anew at each scrape.
func TestComposePrometheusTargets(t *testing.T) {
	targets := scrapeTargets(t, PrometheusConfig)
	for job, want := range map[string]string{"ingest": "A ingest:9101", "aggregate": "A aggregate:8080", "clickhouse": "A clickhouse:9363"} {
		if !slices.Equal(targets[job], []string{want}) {
			t.Errorf("job %s targets = %v, want [%s] (dns_sd_configs type A)", job, targets[job], want)
		}
	}
}

// scrapeTargets reads the Prometheus configuration at file (relative to
// the repository root) and returns each job's targets: static ones as
// host:port, DNS ones as "TYPE name:port".
func scrapeTargets(t *testing.T, file string) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), file))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
			DNSSDConfigs []struct {
				Names []string `yaml:"names"`
				Type  string   `yaml:"type"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("parsing %s: %v", file, err)
	}
	targets := make(map[string][]string)
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets[sc.JobName] = append(targets[sc.JobName], st.Targets...)
		}
		for _, sd := range sc.DNSSDConfigs {
			for _, name := range sd.Names {
				targets[sc.JobName] = append(targets[sc.JobName], sd.Type+" "+name+":"+strconv.Itoa(sd.Port))
			}
		}
	}
	return targets
}
