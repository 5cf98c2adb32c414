package alert_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"

	"tagpulse/internal/aggregatecli"
	"tagpulse/internal/alert"
	"tagpulse/internal/post"
	"tagpulse/internal/retry"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/trend"
)

// receiver is a real local HTTP server that records the bodies posted to
// each path and answers 500 to the first failFirst posts on /json.
type receiver struct {
	*httptest.Server
	mu        sync.Mutex
	bodies    map[string][]string
	posts     int
	failFirst int
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{bodies: map[string][]string{}, failFirst: failFirst}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if req.URL.Path == "/json" && r.failFirst > 0 {
			r.failFirst--
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		r.posts++
		r.bodies[req.URL.Path] = append(r.bodies[req.URL.Path], string(b))
	}))
	t.Cleanup(r.Close)
	return r
}

// received returns the bodies accepted on path so far.
func (r *receiver) received(path string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies[path]...)
}

// load publishes posts to a Kafka topic of the test and runs `aggregate
// run --until-caught-up` to write them to ClickHouse: #surge in 12 posts,
// #calm in 2, all in the five minutes before base.
func load(t *testing.T, ctx context.Context, dsn string, base time.Time) {
	t.Helper()
	k := stacktest.Kafka(t, 2)
	var msgs []kafka.Message
	for i := range 14 {
		tag, display := "surge", "Surge"
		if i >= 12 {
			tag, display = "calm", "calm"
		}
		m := post.Message{Post: post.Post{
			ID: fmt.Sprintf("alert-%d", i), Text: "#" + display, Source: "file", Lang: "en",
			CreatedAt: base.Add(-time.Duration(i+1) * 15 * time.Second),
		}, Hashtags: []post.Hashtag{{Tag: tag, Display: display}}, ExtractorVersion: 1}
		v, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(m.ID), Value: v})
	}
	stacktest.Produce(t, k, k.Topic, msgs...)
	var errOut bytes.Buffer
	cmd := aggregatecli.New()
	cmd.SetOut(io.Discard)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"run", "--until-caught-up", "--kafka-brokers", strings.Join(k.Brokers, ","), "--kafka-topic", k.Topic,
		"--kafka-group", stacktest.UniqueName("alerts"), "--clickhouse-dsn", dsn, "--http-addr", ""})
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatalf("loading posts with aggregate run --until-caught-up: %v\n%s", err, errOut.String())
	}
}

const rulesYAML = `base_url: https://trends.example.org
webhooks:
  - {name: chat, url_env: TEST_ALERTS_CHAT_URL, format: slack}
  - {name: generic, url: %q, format: json}
rules:
  - name: watch
    tags: ["#Surge", calm]
    window: 1h
    metric: count
    threshold: 10
    min_posts: 5
    cooldown: 10m
    webhooks: [chat, generic]
  - name: spike
    any_tag: true
    window: 1h
    metric: score
    threshold: 2
    max_tags: 1
    cooldown: 10m
    webhooks: [generic]
`

// evaluator is one replica: its own State (claimant), notifier and
// metrics over the shared database.
type evaluator struct {
	*alert.Evaluator
	metrics *alert.Metrics
}

func newEvaluator(rules *alert.Rules, conn driver.Conn, opts ...func(*alert.Options)) evaluator {
	n := alert.NewNotifier(rules.BaseURL)
	n.Backoff = retry.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond}
	n.SendTimeout = 10 * time.Second
	m := alert.NewMetrics(prometheus.NewRegistry())
	o := alert.Options{
		Rules: rules, Store: trend.NewStore(conn, trend.DefaultParams()), State: alert.NewState(conn),
		Notifier: n, Metrics: m, Settle: 1500 * time.Millisecond,
	}
	for _, f := range opts {
		f(&o)
	}
	return evaluator{alert.New(o), m}
}

// TestAlertsEndToEnd loads posts through Kafka into ClickHouse, then
// evaluates the rules against them, posting to a real local receiver:
// both body shapes, a retry after a 500, the cooldown kept across a
// restart, and two replicas at once sending once.
func TestAlertsEndToEnd(t *testing.T) {
	cfg, conn := stacktest.ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := time.Now().UTC().Truncate(time.Minute)
	load(t, ctx, cfg.DSN, base)

	recv := newReceiver(t, 1)
	t.Setenv("TEST_ALERTS_CHAT_URL", recv.URL+"/slack")
	rulesFile := filepath.Join(t.TempDir(), "alerts.yml")
	if err := os.WriteFile(rulesFile, []byte(fmt.Sprintf(rulesYAML, recv.URL+"/json")), 0o600); err != nil {
		t.Fatal(err)
	}
	rules, err := alert.LoadRules(rulesFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := base.Add(30 * time.Second)

	t.Run("both shapes and a retry after a 500", func(t *testing.T) {
		ev := newEvaluator(rules, conn)
		rep, err := ev.Evaluate(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Sent != 2 || len(rep.Fired) != 2 || rep.Failed != 0 {
			t.Fatalf("report %+v, want watch and spike fired for #surge and sent", rep)
		}
		slack := recv.received("/slack")
		want := `{"text":"#Surge: 12 posts from 12 accounts in the last 1h (rule watch: count ≥ 10) https://trends.example.org/tags/surge"}`
		if len(slack) != 1 || slack[0] != want {
			t.Errorf("slack bodies %q, want one: %s", slack, want)
		}
		bodies := recv.received("/json")
		if len(bodies) != 2 {
			t.Fatalf("json bodies %q, want one per rule", bodies)
		}
		byRule := map[string]alert.Payload{}
		for _, b := range bodies {
			var p alert.Payload
			if err := json.Unmarshal([]byte(b), &p); err != nil {
				t.Fatalf("json body %s: %v", b, err)
			}
			byRule[p.Rule] = p
		}
		w := byRule["watch"]
		if w.Tag != "surge" || w.Display != "Surge" || w.Count != 12 || w.Score != nil || w.Link != "https://trends.example.org/tags/surge" || w.Window != "1h" || !w.At.Equal(at) {
			t.Errorf("watch payload %+v, want #surge with 12 posts, no score and its link", w)
		}
		s := byRule["spike"]
		if s.Tag != "surge" || s.Count != 12 || s.Score == nil || *s.Score < 2 || s.Expected == nil {
			t.Errorf("spike payload %+v, want #surge with its score (at least 2) and expected count", s)
		}
		if got := testutil.ToFloat64(ev.metrics.SendRetries.WithLabelValues("json")); got != 1 {
			t.Errorf("json retries = %v, want 1 (the 500)", got)
		}
		if got := testutil.ToFloat64(ev.metrics.Sent.WithLabelValues("json")); got != 2 {
			t.Errorf("json sent = %v, want 2", got)
		}
		if got := testutil.ToFloat64(ev.metrics.Fired); got != 2 {
			t.Errorf("fired = %v, want 2", got)
		}
	})
	posts := func() int {
		recv.mu.Lock()
		defer recv.mu.Unlock()
		return recv.posts
	}
	sentBefore := posts()

	t.Run("cooldown across a restart", func(t *testing.T) {
		ev := newEvaluator(rules, conn) // a new process: new claimant, same database
		rep, err := ev.Evaluate(ctx, at.Add(9*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Cooldown != 2 || rep.Sent != 0 || posts() != sentBefore {
			t.Errorf("report %+v, %d new posts: want both firings in their cooldown and nothing sent", rep, posts()-sentBefore)
		}
		if got := testutil.ToFloat64(ev.metrics.Suppressed.WithLabelValues("cooldown")); got != 2 {
			t.Errorf("suppressed by cooldown = %v, want 2", got)
		}
	})

	t.Run("dry run", func(t *testing.T) {
		var out, errOut bytes.Buffer
		cmd := aggregatecli.New()
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetArgs([]string{"alerts", "test", "--alerts-file", rulesFile, "--clickhouse-dsn", cfg.DSN, "--at", at.Add(time.Minute).Format(time.RFC3339)})
		if err := cmd.ExecuteContext(ctx); err != nil {
			t.Fatalf("aggregate alerts test: %v\n%s", err, errOut.String())
		}
		until := at.Truncate(time.Second).Add(10 * time.Minute).Format("2006-01-02 15:04:05")
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "in cooldown until "+until+" UTC: #Surge: 12 posts from 12 accounts in the last 1h (rule watch") ||
			!strings.HasPrefix(lines[1], "in cooldown until "+until+" UTC: #Surge: 12 posts from 12 accounts in the last 1h, ") {
			t.Errorf("alerts test printed:\n%s\nwant the two firings in cooldown until %s", out.String(), until)
		}
		if posts() != sentBefore {
			t.Errorf("the dry run posted %d times", posts()-sentBefore)
		}
	})

	t.Run("two replicas at once send once", func(t *testing.T) {
		later := at.Add(11 * time.Minute) // past the cooldown, posts still in the window
		evs := []evaluator{newEvaluator(rules, conn), newEvaluator(rules, conn)}
		reps := make([]alert.Report, len(evs))
		errs := make([]error, len(evs))
		var wg sync.WaitGroup
		for i, ev := range evs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				reps[i], errs[i] = ev.Evaluate(ctx, later)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if sent, claimed := reps[0].Sent+reps[1].Sent, reps[0].Claimed+reps[1].Claimed; sent != 2 || claimed != 2 {
			t.Errorf("reports %+v and %+v: want 2 alerts sent and 2 left to the other replica in all", reps[0], reps[1])
		}
		if got := posts() - sentBefore; got != 3 {
			t.Errorf("%d posts to the receiver, want 3 (watch to both webhooks, spike to one)", got)
		}
	})

	sentBefore = posts()

	t.Run("run loop", func(t *testing.T) {
		// Run as `aggregate run` does, on a fast clock interval, at a time
		// still in the cooldown of the replicas' round: it evaluates,
		// counts, sends nothing, and returns nil when stopped.
		ev := newEvaluator(rules, conn, func(o *alert.Options) {
			o.Interval = 50 * time.Millisecond
			o.Now = func() time.Time { return at.Add(12 * time.Minute) }
		})
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- ev.Run(runCtx) }()
		stacktest.WaitFor(t, 30*time.Second, "two evaluations", func() bool {
			return testutil.ToFloat64(ev.metrics.Evaluations.WithLabelValues("ok")) >= 2
		})
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v after its context ended, want nil", err)
		}
		if got := testutil.ToFloat64(ev.metrics.Evaluations.WithLabelValues("error")); got != 0 {
			t.Errorf("%v failed evaluations", got)
		}
		if posts() != sentBefore {
			t.Errorf("Run sent %d alerts within the cooldown", posts()-sentBefore)
		}
	})
}
