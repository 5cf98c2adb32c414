package deploycheck

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

// The services of the cluster compose, by role.
var (
	clusterBrokers = []string{"kafka1", "kafka2", "kafka3"}
	clusterKeepers = []string{"keeper1", "keeper2", "keeper3"}
	// clusterReplicas maps each ClickHouse server to its shard macro.
	clusterReplicas = map[string]string{"ch-s1r1": "01", "ch-s1r2": "01", "ch-s2r1": "02", "ch-s2r2": "02"}
)

func loadClusterExample(t *testing.T) (*types.Project, map[string]string) {
	t.Helper()
	return loadComposeWithExample(t, ClusterComposeFile, ClusterEnvExampleFile)
}

func clusterServers() []string {
	servers := make([]string, 0, len(clusterReplicas))
	for name := range clusterReplicas {
		servers = append(servers, name)
	}
	slices.Sort(servers)
	return servers
}

func TestClusterComposeServices(t *testing.T) {
	p, env := loadClusterExample(t)
	want := []string{"aggregate", "alertmanager", "check", "grafana", "ingest", "jmx-agent", "migrate", "prometheus"}
	want = append(want, clusterBrokers...)
	want = append(want, clusterKeepers...)
	want = append(want, clusterServers()...)
	slices.Sort(want)
	checkServices(t, p, env, want)
}

func TestClusterComposeHealthchecks(t *testing.T) {
	p, _ := loadClusterExample(t)
	services := []string{"prometheus", "alertmanager", "grafana", "aggregate", "ingest"}
	services = append(services, clusterBrokers...)
	services = append(services, clusterKeepers...)
	services = append(services, clusterServers()...)
	checkHealthchecks(t, p, services, []string{"check", "jmx-agent", "migrate"})
}

func TestClusterComposeDependencies(t *testing.T) {
	p, _ := loadClusterExample(t)
	healthy := func(names ...string) map[string]string {
		m := make(map[string]string)
		for _, n := range names {
			m[n] = types.ServiceConditionHealthy
		}
		return m
	}
	checked := map[string]string{"check": types.ServiceConditionCompletedSuccessfully}
	var tests []serviceDeps
	for _, b := range clusterBrokers {
		tests = append(tests, serviceDeps{b, map[string]string{
			"check":     types.ServiceConditionCompletedSuccessfully,
			"jmx-agent": types.ServiceConditionCompletedSuccessfully,
		}})
	}
	for _, k := range clusterKeepers {
		tests = append(tests, serviceDeps{k, checked})
	}
	// A ClickHouse server starts once the whole Keeper quorum answers.
	for _, s := range clusterServers() {
		deps := healthy(clusterKeepers...)
		deps["check"] = types.ServiceConditionCompletedSuccessfully
		tests = append(tests, serviceDeps{s, deps})
	}
	aggregate := healthy(append(slices.Clone(clusterBrokers), "ch-s1r1")...)
	aggregate["migrate"] = types.ServiceConditionCompletedSuccessfully
	tests = append(tests,
		serviceDeps{"migrate", healthy(clusterServers()...)},
		serviceDeps{"ingest", healthy(clusterBrokers...)},
		serviceDeps{"aggregate", aggregate},
		serviceDeps{"prometheus", checked},
		serviceDeps{"alertmanager", checked},
		serviceDeps{"grafana", healthy("prometheus", "ch-s1r1")},
	)
	checkDependencies(t, p, tests)
}

// Only the first broker port of each broker, the first replica's
// ClickHouse ports and the tools are published, all on 127.0.0.1;
// aggregate publishes nothing so that it can be scaled.
func TestClusterComposePorts(t *testing.T) {
	p, _ := loadClusterExample(t)
	checkPorts(t, p, []servicePorts{
		{"kafka1", []uint32{9092}},
		{"kafka2", []uint32{9192}},
		{"kafka3", []uint32{9292}},
		{"ch-s1r1", []uint32{9000, 8123}},
		{"prometheus", []uint32{9090}},
		{"alertmanager", []uint32{9093}},
		{"grafana", []uint32{3000}},
		{"ingest", []uint32{9101, 8090}},
	})
}

func TestClusterComposeRequiresSecrets(t *testing.T) {
	checkRequiresSecrets(t, ClusterComposeFile, ClusterEnvExampleFile, []string{
		"CLICKHOUSE_PASSWORD", "CLICKHOUSE_GRAFANA_PASSWORD", "CLICKHOUSE_INTERSERVER_SECRET",
		"KAFKA_SASL_PASSWORD", "INGEST_WEBHOOK_TOKEN", "GRAFANA_ADMIN_PASSWORD", "KAFKA_CLUSTER_ID",
		"ALERT_WEBHOOK_URL", "INGEST_SOURCES", "RUNBOOK_BASE_URL",
	})
}

// The check service refuses every placeholder of the cluster's
// .env.example, the interserver secret among them.
func TestClusterComposeCheckRefusesExampleSecrets(t *testing.T) {
	p, env := loadClusterExample(t)
	checkCheckScript(t, p, env, []string{"CLICKHOUSE_PASSWORD", "CLICKHOUSE_GRAFANA_PASSWORD", "CLICKHOUSE_INTERSERVER_SECRET", "KAFKA_SASL_PASSWORD", "INGEST_WEBHOOK_TOKEN", "GRAFANA_ADMIN_PASSWORD", "ALERT_WEBHOOK_URL"})
}

func TestClusterComposeKafka(t *testing.T) {
	p, env := loadClusterExample(t)
	ids := map[string]bool{}
	for i, name := range clusterBrokers {
		t.Run(name, func(t *testing.T) {
			s := service(t, p, name)
			e := func(k string) string { return deref(s.Environment[k]) }
			want := map[string]string{
				"KAFKA_PROCESS_ROLES":                            "broker,controller",
				"KAFKA_CONTROLLER_QUORUM_VOTERS":                 "1@kafka1:9093,2@kafka2:9093,3@kafka3:9093",
				"KAFKA_DEFAULT_REPLICATION_FACTOR":               "3",
				"KAFKA_MIN_INSYNC_REPLICAS":                      "2",
				"KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE":           "false",
				"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":         "3",
				"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "3",
				"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":            "2",
				"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":           "INTERNAL:SASL_PLAINTEXT,HOST:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
				"KAFKA_SASL_ENABLED_MECHANISMS":                  "PLAIN",
				"CLUSTER_ID":                                     env["KAFKA_CLUSTER_ID"],
			}
			for k, v := range want {
				if got := e(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			id := e("KAFKA_NODE_ID")
			if id != strconv.Itoa(i+1) || ids[id] {
				t.Errorf("KAFKA_NODE_ID = %q, want %d, unique", id, i+1)
			}
			ids[id] = true
			port := strconv.Itoa(int(s.Ports[0].Target))
			adv := e("KAFKA_ADVERTISED_LISTENERS")
			for _, l := range []string{"INTERNAL://" + name + ":29092", "HOST://127.0.0.1:" + port} {
				if !slices.Contains(strings.Split(adv, ","), l) {
					t.Errorf("KAFKA_ADVERTISED_LISTENERS = %q, want %s", adv, l)
				}
			}
			if !strings.Contains(e("KAFKA_LISTENERS"), "HOST://:"+port) {
				t.Errorf("KAFKA_LISTENERS = %q, want HOST://:%s", e("KAFKA_LISTENERS"), port)
			}
			// The JMX exporter: the javaagent on :9404 with the repository's
			// configuration, both mounted read-only.
			opts := e("KAFKA_OPTS")
			m := regexp.MustCompile(`-javaagent:(\S+\.jar)=9404:(\S+)`).FindStringSubmatch(opts)
			if m == nil {
				t.Fatalf("KAFKA_OPTS = %q, want the JMX exporter javaagent on port 9404", opts)
			}
			mounted := map[string]string{}
			for _, v := range s.Volumes {
				mounted[v.Target] = v.Source
			}
			if mounted[filepath.Dir(m[1])] != "jmx-agent" {
				t.Errorf("%s: the javaagent's directory %s is not the jmx-agent volume", name, filepath.Dir(m[1]))
			}
			cfg := filepath.Join(mounted[filepath.Dir(m[2])], filepath.Base(m[2]))
			if cfg != filepath.Join(repoRoot(t), ClusterJMXExporterConfig) {
				t.Errorf("%s: the javaagent reads %s, mounted from %s, want %s", name, m[2], cfg, ClusterJMXExporterConfig)
			}
		})
	}
	t.Run("clients reach every broker", func(t *testing.T) {
		for _, name := range []string{"migrate", "ingest", "aggregate"} {
			got := deref(service(t, p, name).Environment["KAFKA_BROKERS"])
			if got != "kafka1:29092,kafka2:29092,kafka3:29092" {
				t.Errorf("%s KAFKA_BROKERS = %q, want all three brokers", name, got)
			}
		}
	})
}

// The JMX exporter's rules turn the broker MBeans the alerts and the
// cluster dashboard read into the metric names they use.
func TestClusterJMXExporterNames(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), ClusterJMXExporterConfig))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		LowercaseOutputName bool `yaml:"lowercaseOutputName"`
		Rules               []struct {
			Pattern string `yaml:"pattern"`
			Name    string `yaml:"name"`
		} `yaml:"rules"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("parsing %s: %v", ClusterJMXExporterConfig, err)
	}
	// exported is what the exporter names an MBean attribute: the first
	// rule whose pattern matches the whole of it (the exporter's own
	// form, domain<beanProperties><key>attribute).
	exported := func(bean string) string {
		for _, r := range cfg.Rules {
			re, err := regexp.Compile("^(?:" + r.Pattern + ")$")
			if err != nil {
				t.Fatalf("rule pattern %q: %v", r.Pattern, err)
			}
			if m := re.FindStringSubmatchIndex(bean); m != nil {
				// The exporter's $1 is Go's ${1}: Go would read $1_ as a
				// group named "1_".
				tmpl := regexp.MustCompile(`\$(\d+)`).ReplaceAllString(r.Name, "$${$1}")
				name := string(re.ExpandString(nil, tmpl, bean, m))
				if cfg.LowercaseOutputName {
					name = strings.ToLower(name)
				}
				return name
			}
		}
		return ""
	}
	for bean, want := range map[string]string{
		"kafka.server<type=ReplicaManager, name=UnderReplicatedPartitions><>Value": "kafka_server_replicamanager_underreplicatedpartitions",
		"kafka.server<type=ReplicaManager, name=UnderMinIsrPartitionCount><>Value": "kafka_server_replicamanager_underminisrpartitioncount",
		"kafka.server<type=ReplicaManager, name=LeaderCount><>Value":               "kafka_server_replicamanager_leadercount",
		"kafka.server<type=ReplicaManager, name=PartitionCount><>Value":            "kafka_server_replicamanager_partitioncount",
	} {
		if got := exported(bean); got != want {
			t.Errorf("%s is exported as %q, want %q", bean, got, want)
		}
	}
}

// clickhouseClusterConfig is the part of cluster.xml the checks read.
type clickhouseClusterConfig struct {
	Cluster struct {
		Shards []struct {
			InternalReplication bool `xml:"internal_replication"`
			Replicas            []struct {
				Host string `xml:"host"`
				Port int    `xml:"port"`
			} `xml:"replica"`
		} `xml:"shard"`
		Secret struct {
			FromEnv string `xml:"from_env,attr"`
		} `xml:"secret"`
	} `xml:"remote_servers>tagpulse"`
	Macros struct {
		Cluster string `xml:"cluster"`
		Shard   struct {
			FromEnv string `xml:"from_env,attr"`
		} `xml:"shard"`
		Replica struct {
			FromEnv string `xml:"from_env,attr"`
		} `xml:"replica"`
	} `xml:"macros"`
	ZooKeeper []struct {
		Host string `xml:"host"`
		Port int    `xml:"port"`
	} `xml:"zookeeper>node"`
	DDLPath string `xml:"distributed_ddl>path"`
}

func TestClusterClickHouse(t *testing.T) {
	p, env := loadClusterExample(t)
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, ClusterClickHouseConfig))
	if err != nil {
		t.Fatal(err)
	}
	var cfg clickhouseClusterConfig
	if err := xml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("parsing %s: %v", ClusterClickHouseConfig, err)
	}

	t.Run("remote_servers is 2 shards x 2 replicas of the compose servers", func(t *testing.T) {
		got := map[string]string{}
		for i, sh := range cfg.Cluster.Shards {
			if !sh.InternalReplication {
				t.Errorf("shard %d: internal_replication is off; the replicated tables copy rows themselves", i+1)
			}
			if len(sh.Replicas) != 2 {
				t.Errorf("shard %d has %d replicas, want 2", i+1, len(sh.Replicas))
			}
			for _, r := range sh.Replicas {
				got[r.Host] = "0" + strconv.Itoa(i+1)
				if r.Port != 9000 {
					t.Errorf("shard %d replica %s port %d, want 9000", i+1, r.Host, r.Port)
				}
			}
		}
		if len(cfg.Cluster.Shards) != 2 || len(got) != len(clusterReplicas) {
			t.Errorf("remote_servers = %v, want %v", got, clusterReplicas)
		}
		for host, shard := range clusterReplicas {
			if got[host] != shard {
				t.Errorf("%s is in shard %q of remote_servers, want %s", host, got[host], shard)
			}
		}
		if cfg.Cluster.Secret.FromEnv != "CLICKHOUSE_INTERSERVER_SECRET" {
			t.Errorf("remote_servers secret from_env = %q, want CLICKHOUSE_INTERSERVER_SECRET", cfg.Cluster.Secret.FromEnv)
		}
	})

	t.Run("coordinator and distributed DDL", func(t *testing.T) {
		var hosts []string
		for _, n := range cfg.ZooKeeper {
			hosts = append(hosts, n.Host+":"+strconv.Itoa(n.Port))
		}
		if want := []string{"keeper1:9181", "keeper2:9181", "keeper3:9181"}; !slices.Equal(hosts, want) {
			t.Errorf("zookeeper nodes = %v, want %v", hosts, want)
		}
		if cfg.DDLPath == "" {
			t.Error("no distributed_ddl path: ON CLUSTER DDL would not run")
		}
		if cfg.Macros.Cluster != "tagpulse" || cfg.Macros.Shard.FromEnv != "CLICKHOUSE_SHARD" || cfg.Macros.Replica.FromEnv != "CLICKHOUSE_REPLICA" {
			t.Errorf("macros = %+v, want cluster tagpulse, shard and replica from CLICKHOUSE_SHARD and CLICKHOUSE_REPLICA", cfg.Macros)
		}
	})

	for _, name := range clusterServers() {
		t.Run(name, func(t *testing.T) {
			s := service(t, p, name)
			e := func(k string) string { return deref(s.Environment[k]) }
			if e("CLICKHOUSE_SHARD") != clusterReplicas[name] || e("CLICKHOUSE_REPLICA") != name {
				t.Errorf("macros shard %q replica %q, want %s and %s", e("CLICKHOUSE_SHARD"), e("CLICKHOUSE_REPLICA"), clusterReplicas[name], name)
			}
			if e("CLICKHOUSE_INTERSERVER_SECRET") != env["CLICKHOUSE_INTERSERVER_SECRET"] || e("CLICKHOUSE_PASSWORD") != env["CLICKHOUSE_PASSWORD"] {
				t.Error("want CLICKHOUSE_INTERSERVER_SECRET and CLICKHOUSE_PASSWORD from .env")
			}
			mounts := map[string]string{}
			for _, v := range s.Volumes {
				mounts[v.Target] = v.Source
			}
			for target, source := range map[string]string{
				"/etc/clickhouse-server/config.d/cluster.xml":    ClusterClickHouseConfig,
				"/etc/clickhouse-server/config.d/prometheus.xml": ComposeDir + "/clickhouse/prometheus.xml",
				"/var/lib/clickhouse":                            name + "-data",
			} {
				if want := filepath.Join(root, source); mounts[target] != want && mounts[target] != source {
					t.Errorf("%s mounted from %q, want %s", target, mounts[target], source)
				}
			}
		})
	}
}

func TestClusterKeeper(t *testing.T) {
	p, _ := loadClusterExample(t)
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), ClusterKeeperConfig))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		TCPPort  int `xml:"keeper_server>tcp_port"`
		ServerID struct {
			FromEnv string `xml:"from_env,attr"`
		} `xml:"keeper_server>server_id"`
		Raft []struct {
			ID       int    `xml:"id"`
			Hostname string `xml:"hostname"`
		} `xml:"keeper_server>raft_configuration>server"`
		Ready string `xml:"keeper_server>http_control>readiness>endpoint"`
	}
	if err := xml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("parsing %s: %v", ClusterKeeperConfig, err)
	}
	if cfg.TCPPort != 9181 || cfg.ServerID.FromEnv != "KEEPER_SERVER_ID" || cfg.Ready != "/ready" {
		t.Errorf("keeper_server tcp_port %d, server_id from_env %q, readiness %q; want 9181, KEEPER_SERVER_ID, /ready", cfg.TCPPort, cfg.ServerID.FromEnv, cfg.Ready)
	}
	raft := map[string]string{}
	for _, s := range cfg.Raft {
		raft[s.Hostname] = strconv.Itoa(s.ID)
	}
	if len(raft) != len(clusterKeepers) {
		t.Errorf("raft_configuration = %v, want the %d keeper services", raft, len(clusterKeepers))
	}
	for _, name := range clusterKeepers {
		id := deref(service(t, p, name).Environment["KEEPER_SERVER_ID"])
		if id == "" || raft[name] != id {
			t.Errorf("%s: KEEPER_SERVER_ID %q, raft_configuration gives it id %q", name, id, raft[name])
		}
	}
}

// The cluster's Prometheus finds every replica of every service by DNS,
// and loads the same rules as the single compose.
func TestClusterPrometheus(t *testing.T) {
	targets := scrapeTargets(t, ClusterPrometheusConfig)
	dns := func(port string, names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, "A "+n+":"+port)
		}
		return out
	}
	for job, want := range map[string][]string{
		"ingest":     dns("9101", "ingest"),
		"aggregate":  dns("8080", "aggregate"),
		"clickhouse": dns("9363", clusterServers()...),
		"keeper":     dns("9363", clusterKeepers...),
		"kafka":      dns("9404", clusterBrokers...),
	} {
		if !slices.Equal(targets[job], want) {
			t.Errorf("job %s targets = %v, want %v", job, targets[job], want)
		}
	}
	promtoolCheckConfig(t, ClusterPrometheusConfig)

	p, _ := loadClusterExample(t)
	root := repoRoot(t)
	mounts := map[string]string{}
	for _, v := range service(t, p, "prometheus").Volumes {
		mounts[v.Target] = v.Source
	}
	for target, source := range map[string]string{
		"/etc/prometheus/prometheus.yml": ClusterPrometheusConfig,
		"/etc/prometheus/rules":          filepath.Dir(RulesGlob),
	} {
		if want := filepath.Join(root, source); mounts[target] != want {
			t.Errorf("prometheus mounts %q at %s, want %s", mounts[target], target, source)
		}
	}
}
