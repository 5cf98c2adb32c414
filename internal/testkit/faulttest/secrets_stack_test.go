package faulttest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tagpulse/internal/testkit/stacktest"
)

func secret(kind string) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return kind + "-" + hex.EncodeToString(b)
}

// output collects everything a user or an operator can see of a run.
type output struct {
	parts map[string]string
}

func (o *output) add(what, text string) {
	if o.parts == nil {
		o.parts = map[string]string{}
	}
	o.parts[what] += text
}

func (o *output) addProc(p *stacktest.Proc) {
	o.add(p.Name+" stdout", p.Stdout())
	o.add(p.Name+" stderr", p.Stderr())
}

// assertNoSecrets fails for every secret found in any part of the output.
func (o *output) assertNoSecrets(t *testing.T, secrets ...string) {
	t.Helper()
	for what, text := range o.parts {
		for _, s := range secrets {
			if i := strings.Index(text, s); i >= 0 {
				t.Errorf("%s shows a secret: …%s…", what, text[max(0, i-80):min(len(text), i+len(s)+20)])
			}
		}
	}
}

// TestSecretsNeverShown runs ingest (webhook token, SASL password) and
// aggregate (ClickHouse password in the DSN and in the environment) at
// debug level, through successful runs, refused requests and failed
// connections, and searches everything they print and serve (logs,
// /metrics, error responses) for the secret values.
func TestSecretsNeverShown(t *testing.T) {
	e := newEnv(t, 3)
	token, saslPw, chPw := secret("webhooktoken"), secret("saslpassword"), secret("clickhousepassword")
	var out output
	debug := []string{"LOG_LEVEL=debug", "KAFKA_SASL_PASSWORD=" + saslPw}

	// The webhook: accepted, refused and malformed requests.
	ing := stacktest.Start(t, "ingest run", ingestBin(t), append(debug, "INGEST_WEBHOOK_TOKEN="+token), append([]string{"run",
		"--webhook-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--state-dir", t.TempDir()}, e.kafkaArgs()...)...)
	var hookAddr, metricsAddr string
	stacktest.WaitFor(t, 60*time.Second, "ingest's two HTTP servers", func() bool {
		addrs := stacktest.ListenAddrs(ing.Stderr())
		if len(addrs) < 2 {
			return false
		}
		for _, a := range addrs {
			if code, _, _ := httpGet("http://" + a + "/healthz"); code == 200 {
				metricsAddr = a
			} else {
				hookAddr = a
			}
		}
		return metricsAddr != "" && hookAddr != ""
	})
	posts := stacktest.GenPosts("sec", 20, time.Now(), 40, 10)
	requests := []struct {
		auth, body string
		want       int
	}{
		{"Bearer " + token, `{"id":"sec-0","text":"` + posts[0].Text + `"}`, 202},
		{"Bearer " + token + "x", `{"id":"x","text":"#a"}`, 401},
		{"Bearer " + token[:len(token)-2], `{"id":"x","text":"#a"}`, 401},
		{"Basic " + token, `{"id":"x","text":"#a"}`, 401},
		{"Bearer " + token, `{"id":"x","text":"` + token + `"`, 400},
		{"Bearer " + token, `{"id":"x","text":5}`, 400},
	}
	for i, r := range requests {
		req, _ := http.NewRequest(http.MethodPost, "http://"+hookAddr+"/v1/posts", strings.NewReader(r.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", r.auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("webhook request %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != r.want {
			t.Errorf("webhook request %d: %d %s, want %d", i, resp.StatusCode, body, r.want)
		}
		out.add(fmt.Sprintf("webhook response %d", i), fmt.Sprint(resp.Header)+string(body))
	}
	_, metrics, _ := httpGet("http://" + metricsAddr + "/metrics")
	out.add("ingest /metrics", metrics)
	ing.Stop(t)
	out.addProc(ing)

	// aggregate, running well, with a password in the environment it
	// does not need (the DSN's user has none).
	agg := stacktest.Start(t, "aggregate run", aggregateBin(t), debug, e.aggregateArgs()...)
	addr := agg.HTTPAddr(t)
	waitTotals(t, e.conn, 60*time.Second, posts[:1])
	for _, path := range []string{"/metrics", "/readyz", "/healthz", "/nope"} {
		_, body, _ := httpGet("http://" + addr + path)
		out.add("aggregate "+path, body)
	}
	agg.Stop(t)
	out.addProc(agg)

	// Failures, where a careless program prints its configuration.
	dsnWithPw := strings.Replace(e.store.DSN, "default:@", "default:"+chPw+"@", 1)
	if dsnWithPw == e.store.DSN {
		t.Fatalf("cannot put a password into DSN %s", e.store.DSN)
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(chPw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	failures := []struct {
		name string
		bin  string
		env  []string
		args []string
		says string
	}{
		{"aggregate run, wrong password in the DSN", aggregateBin(t), debug,
			append(e.aggregateArgs(), "--clickhouse-dsn", dsnWithPw), "password"},
		{"aggregate migrate, wrong password in CLICKHOUSE_PASSWORD", aggregateBin(t), append(debug, "CLICKHOUSE_PASSWORD="+chPw),
			[]string{"migrate", "--clickhouse-dsn", e.store.DSN, "--log-format", "json"}, "password"},
		{"aggregate run, wrong password in CLICKHOUSE_PASSWORD_FILE", aggregateBin(t), append(debug, "CLICKHOUSE_PASSWORD_FILE="+pwFile),
			e.aggregateArgs(), "password"},
		{"aggregate run, unparsable DSN with a password", aggregateBin(t), debug,
			append(e.aggregateArgs(), "--clickhouse-dsn", "clickhouse://default:"+chPw+"@127.0.0.1:9000/bad-name?dial_timeout=x"), "DSN"},
		{"ingest run, SASL PLAIN against a broker without SASL", ingestBin(t), debug,
			append([]string{"run", "--once", "--source", "file=" + t.TempDir(), "--metrics-addr", "", "--state-dir", t.TempDir(),
				"--kafka-sasl-mechanism", "plain", "--kafka-sasl-username", "tagpulse"}, e.kafkaArgs()...), "SASL"},
		{"ingest file, SCRAM-SHA-512 against a broker without SASL", ingestBin(t), debug,
			append([]string{"file", t.TempDir(), "--kafka-sasl-mechanism", "scram-sha-512", "--kafka-sasl-username", "tagpulse"}, e.kafkaArgs()...), "SASL"},
	}
	for _, f := range failures {
		p := stacktest.Start(t, f.name, f.bin, f.env, f.args...)
		err := p.Wait(t, 90*time.Second)
		out.addProc(p)
		if err == nil {
			t.Errorf("%s: exited 0, want a failure", f.name)
			continue
		}
		if !strings.Contains(strings.ToLower(p.Stderr()), strings.ToLower(f.says)) {
			t.Errorf("%s: the error does not mention %q:\n%s", f.name, f.says, stacktest.Tail(p.Stderr()))
		}
	}
	out.assertNoSecrets(t, token, saslPw, chPw)
}
