package benchrun

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"tagpulse/internal/testkit/stacktest"
)

// tagpulse measures `ingest file` on the corpus and `aggregate run
// --until-caught-up` on what it published, with the aggregator's peak RSS,
// and checks every count against the generator's. Each run is paired with
// its limit, measured just before it on the same messages: kcat produces
// the corpus's messages into a fresh topic, then ingest publishes the corpus
// into another; kcat consumes ingest's topic, then aggregate does. The
// machine's speed drifts by minutes, so the ratios are the medians of the
// ratios of each pair, not ratios of medians taken minutes apart.
func (e *env) tagpulse(ctx context.Context, fx *fixture, r *Report) error {
	var kcatProd, kcatCons, ingest, agg, ingestRatio, aggRatio, rss []float64
	var cur, curVsKcat, curVsOld []float64
	for i := range e.cfg.Runs {
		run := strconv.Itoa(i)
		kt, err := e.topic(ctx, "kcat"+run)
		if err != nil {
			return err
		}
		kp, err := e.measure("kcat produce", i, func() (float64, error) { return e.kcatProduce(ctx, fx, kt) })
		if err != nil {
			return err
		}
		it, err := e.topic(ctx, "ingest"+run)
		if err != nil {
			return err
		}
		ip, err := e.measure("ingest file", i, func() (float64, error) {
			res, err := e.ingestFile(ctx, fx, e.cfg.Bin, it)
			return float64(len(fx.msgs)) / res.wall.Seconds(), err
		})
		if err != nil {
			return err
		}
		kc, err := e.measure("kcat consume", i, func() (float64, error) { return e.kcatConsume(ctx, fx, it) })
		if err != nil {
			return err
		}
		var peak int64
		ap, err := e.measure("aggregate run --until-caught-up", i, func() (float64, error) {
			res, err := e.aggregate(ctx, fx, e.cfg.Bin, it, run, r)
			peak = res.peak
			return float64(len(fx.msgs)) / res.wall.Seconds(), err
		})
		if err != nil {
			return err
		}
		if e.current != nil {
			// The same topic into the current ClickHouse, paired with a
			// kcat consume of its own and with the run above.
			kc2, err := e.measure("kcat consume", i, func() (float64, error) { return e.kcatConsume(ctx, fx, it) })
			if err != nil {
				return err
			}
			cp, err := e.measure("aggregate run --until-caught-up on ClickHouse "+r.Current.Version, i, func() (float64, error) {
				res, err := e.current.aggregate(ctx, fx, e.cfg.Bin, it, "current"+run, r)
				return float64(len(fx.msgs)) / res.wall.Seconds(), err
			})
			if err != nil {
				return err
			}
			cur, curVsKcat, curVsOld = append(cur, cp), append(curVsKcat, cp/kc2), append(curVsOld, cp/ap)
		}
		kcatProd, ingest, ingestRatio = append(kcatProd, kp), append(ingest, ip), append(ingestRatio, ip/kp)
		kcatCons, agg, aggRatio = append(kcatCons, kc), append(agg, ap), append(aggRatio, ap/kc)
		rss = append(rss, float64(peak))
	}
	r.KcatProduce, r.KcatConsume = median(kcatProd), median(kcatCons)
	r.IngestPosts, r.IngestVsKcat = median(ingest), median(ingestRatio)
	r.AggregatePosts, r.AggregateVsKcat = median(agg), median(aggRatio)
	r.AggregateRows = r.AggregatePosts * float64(len(fx.rows)) / float64(len(fx.msgs))
	r.AggregateRSS = slicesMax(rss)
	if c := r.Current; c != nil {
		c.AggregatePosts, c.AggregateVsKcat, c.AggregateVsOld = median(cur), median(curVsKcat), median(curVsOld)
		c.AggregateRows = c.AggregatePosts * float64(len(fx.rows)) / float64(len(fx.msgs))
	}
	return nil
}

// ingestFile runs `ingest file` (the build in bin) on the corpus into
// topic; the topic must then hold every post.
func (e *env) ingestFile(ctx context.Context, fx *fixture, bin, topic string) (result, error) {
	res, err := e.command(ctx, filepath.Join(bin, "ingest"), []string{"file", fx.corpusPath}, e.kafkaEnv(topic, ""))
	if err != nil {
		return res, err
	}
	if want := fmt.Sprintf("%d published", len(fx.msgs)); !strings.Contains(res.stdout, want) {
		return res, fmt.Errorf("ingest file did not publish every post: %s", firstLine(res.stdout))
	}
	if n, err := e.topicMessages(ctx, topic); err != nil || n != int64(len(fx.msgs)) {
		return res, fmt.Errorf("ingest file left %d messages in %s, want %d (%v)", n, topic, len(fx.msgs), err)
	}
	return res, nil
}

// aggregate runs `aggregate run --until-caught-up` (the build in bin) on
// topic with a fresh group and database (migrated first, untimed) and
// checks its counts.
func (e *env) aggregate(ctx context.Context, fx *fixture, bin, topic, run string, r *Report) (result, error) {
	db := e.database("agg" + run)
	env := e.kafkaEnv(topic, "bench_"+e.suffix+"_group"+run)
	env = append(env, "CLICKHOUSE_DSN="+e.dsn(db))
	aggregate := filepath.Join(bin, "aggregate")
	if _, err := e.command(ctx, aggregate, []string{"migrate"}, env); err != nil {
		return result{}, err
	}
	res, err := e.command(ctx, aggregate, []string{"run", "--until-caught-up", "--http-addr", "", "--retention", "0"}, env)
	if err != nil {
		return res, err
	}
	return res, e.checkCounts(ctx, db, fx, "aggregate run "+run, r)
}

// checkCounts compares what tagpulse stored in db with the generator's
// counts: distinct posts per tag (stacktest.ReadTagTotals: in mentions,
// and through the rollups `top` reads once they caught up), and the
// mention rows once replays and redeliveries are folded.
func (e *env) checkCounts(ctx context.Context, db string, fx *fixture, what string, r *Report) error {
	conn, err := e.openDB(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close()
	got, err := stacktest.ReadTagTotals(ctx, conn)
	if err != nil {
		return err
	}
	var wrong []string
	for tag, n := range fx.exp.Tags {
		if got[tag] != uint64(n) {
			wrong = append(wrong, fmt.Sprintf("%s: %d, want %d", tag, got[tag], n))
		}
	}
	for tag, n := range got {
		if _, ok := fx.exp.Tags[tag]; !ok {
			wrong = append(wrong, fmt.Sprintf("%s: %d, want none", tag, n))
		}
	}
	var mentions uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM (SELECT DISTINCT tag, post_id FROM mentions)").Scan(&mentions); err != nil {
		return fmt.Errorf("counting mentions: %w", err)
	}
	if mentions != uint64(fx.exp.Mentions) {
		wrong = append(wrong, fmt.Sprintf("mentions: %d, want %d", mentions, fx.exp.Mentions))
	}
	r.Checked++
	if len(wrong) > 0 {
		if len(wrong) > 5 {
			wrong = append(wrong[:5], fmt.Sprintf("and %d more", len(wrong)-5))
		}
		r.Inexact = append(r.Inexact, what+": "+strings.Join(wrong, ", "))
	}
	return nil
}

func (e *env) kafkaEnv(topic, group string) []string {
	env := []string{
		"KAFKA_BROKERS=" + strings.Join(e.cfg.Brokers, ","),
		"KAFKA_TOPIC=" + topic,
		"KAFKA_PARTITIONS=" + strconv.Itoa(e.cfg.Partitions),
		"LOG_LEVEL=warn",
	}
	if group != "" {
		env = append(env, "KAFKA_GROUP="+group)
	}
	return env
}

// result is what command measured of one process.
type result struct {
	stdout string
	wall   time.Duration
	cpu    time.Duration // user + system
	peak   int64         // bytes
}

// command runs a tagpulse command with env added to the environment and
// returns its stdout, wall and CPU time and peak resident set in bytes:
// VmHWM, a high-water mark, read every 50 ms while it runs. (The
// ru_maxrss that wait4 reports is no use here: it counts the pages of the
// benchmark process the child had between fork and exec.)
func (e *env) command(ctx context.Context, bin string, args, env []string) (result, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, fmt.Errorf("starting %s: %w", bin, err)
	}
	var hwm int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if v := vmHWM(cmd.Process.Pid); v > hwm {
				hwm = v
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	err := cmd.Wait()
	res := result{stdout: stdout.String(), wall: time.Since(start)}
	close(stop)
	wg.Wait()
	if err != nil {
		return res, fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, lastLines(stderr.String(), 5))
	}
	res.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	res.peak = hwm
	return res, nil
}

// vmHWM reads the peak resident set of a process from /proc, in bytes; 0
// when it cannot.
func vmHWM(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func slicesMax(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
