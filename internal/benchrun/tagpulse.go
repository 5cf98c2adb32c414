package benchrun

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// tagpulse measures `ingest file` on the corpus and `aggregate run
// --until-caught-up` on what it published, with the aggregator's peak RSS,
// and checks every count against the generator's.
func (e *env) tagpulse(ctx context.Context, fx *fixture, r *Report) error {
	var topic string
	ingest, err := e.repeat(ctx, "ingest file", func(ctx context.Context, i int) (float64, error) {
		t, err := e.topic(ctx, "ingest"+strconv.Itoa(i))
		if err != nil {
			return 0, err
		}
		topic = t
		out, d, _, err := e.command(ctx, e.cfg.IngestBin, []string{"file", fx.corpusPath}, e.kafkaEnv(t, ""))
		if err != nil {
			return 0, err
		}
		if want := fmt.Sprintf("%d published", len(fx.msgs)); !strings.Contains(out, want) {
			return 0, fmt.Errorf("ingest file did not publish every post: %s", firstLine(out))
		}
		if n, err := e.topicMessages(ctx, t); err != nil || n != int64(len(fx.msgs)) {
			return 0, fmt.Errorf("ingest file left %d messages in %s, want %d (%v)", n, t, len(fx.msgs), err)
		}
		return float64(len(fx.msgs)) / d.Seconds(), nil
	})
	if err != nil {
		return err
	}
	r.IngestPosts = median(ingest)

	var rss []float64
	agg, err := e.repeat(ctx, "aggregate run --until-caught-up", func(ctx context.Context, i int) (float64, error) {
		db := e.database("agg" + strconv.Itoa(i))
		env := e.kafkaEnv(topic, "bench_"+e.suffix+"_group"+strconv.Itoa(i))
		env = append(env, "CLICKHOUSE_DSN="+e.dsn(db))
		if _, _, _, err := e.command(ctx, e.cfg.AggregateBin, []string{"migrate"}, env); err != nil {
			return 0, err
		}
		_, d, peak, err := e.command(ctx, e.cfg.AggregateBin, []string{"run", "--until-caught-up", "--http-addr", "", "--retention", "0"}, env)
		if err != nil {
			return 0, err
		}
		rss = append(rss, float64(peak))
		if err := e.checkCounts(ctx, db, fx, fmt.Sprintf("aggregate run %d", i+1), r); err != nil {
			return 0, err
		}
		return float64(len(fx.msgs)) / d.Seconds(), nil
	})
	if err != nil {
		return err
	}
	r.AggregatePosts = median(agg)
	r.AggregateRows = r.AggregatePosts * float64(len(fx.rows)) / float64(len(fx.msgs))
	r.AggregateRSS = slicesMax(rss)
	return nil
}

// checkCounts compares what tagpulse stored in db with the generator's
// counts: distinct posts per tag in tag_minute (what `top` reads), and the
// mention rows once replays and redeliveries are folded.
func (e *env) checkCounts(ctx context.Context, db string, fx *fixture, what string, r *Report) error {
	conn, err := e.openDB(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close()
	rows, err := conn.Query(ctx, "SELECT tag, toUInt64(uniqExactMerge(posts)) FROM tag_minute GROUP BY tag")
	if err != nil {
		return fmt.Errorf("reading counts: %w", err)
	}
	got := map[string]uint64{}
	for rows.Next() {
		var tag string
		var n uint64
		if err := rows.Scan(&tag, &n); err != nil {
			rows.Close()
			return err
		}
		got[tag] = n
	}
	rows.Close()
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

// command runs a tagpulse command with env added to the environment and
// returns its stdout, wall time and peak resident set in bytes: VmHWM, a
// high-water mark, read every 50 ms while it runs. (The ru_maxrss that
// wait4 reports is no use here: it counts the pages of the benchmark
// process the child had between fork and exec.)
func (e *env) command(ctx context.Context, bin string, args, env []string) (string, time.Duration, int64, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return "", 0, 0, fmt.Errorf("starting %s: %w", bin, err)
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
	d := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		return stdout.String(), d, 0, fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, lastLines(stderr.String(), 5))
	}
	return stdout.String(), d, hwm, nil
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
