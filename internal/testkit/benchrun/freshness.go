package benchrun

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"tagpulse/internal/ingest"
	"tagpulse/internal/kafkaclient"
	"tagpulse/internal/post"
	"tagpulse/internal/publish"
)

// freshness offers cfg.FreshRate posts/s for cfg.FreshDuration to a running
// `aggregate run` and measures, for marker posts, the time from the post's
// creation to its tag being visible in mentions (what `top` reads for the
// hours the rollups have not done, the current one among them).
//
// The producer is ingest's own path minus the source: the extractor and
// internal/publish with its default settings. Every 10 ms it publishes a
// batch whose first post carries a unique marker tag (#bfm<n>), with
// created_at = now; batches are published concurrently (at most 8 at
// once), as the webhook's clients would. A poller queries mentions every
// 50 ms, so figures are late by 25 ms on average. The aggregator's own
// freshness histogram is not used: it stops at the insert's return (not at
// visibility to queries) and has bucket resolution.
func (e *env) freshness(ctx context.Context, fx *fixture, r *Report) error {
	topic, err := e.topic(ctx, "fresh")
	if err != nil {
		return err
	}
	db := e.database("fresh")
	env := append(e.kafkaEnv(topic, "bench_"+e.suffix+"_fresh"), "CLICKHOUSE_DSN="+e.dsn(db))
	if _, err := e.command(ctx, filepath.Join(e.cfg.Bin, "aggregate"), []string{"migrate"}, env); err != nil {
		return err
	}
	agg := exec.Command(filepath.Join(e.cfg.Bin, "aggregate"), "run", "--http-addr", "", "--retention", "0")
	agg.Env = append(os.Environ(), env...)
	if err := agg.Start(); err != nil {
		return err
	}
	defer func() {
		agg.Process.Signal(syscall.SIGTERM)
		agg.Wait()
	}()
	conn, err := e.openDB(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close()
	kc := &kafkaclient.Config{Brokers: e.cfg.Brokers, Topic: topic, Partitions: e.cfg.Partitions}
	pub, err := publish.New(publish.DefaultConfig(), kc, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	defer pub.Close()

	// Wait until the aggregator has joined its group and writes.
	warm := post.Post{ID: "bench:warmup", Text: "#bfmwarmup", CreatedAt: time.Now().UTC()}
	if _, err := pub.Publish(ctx, []post.Message{ingest.Hashtags.Message(warm)}); err != nil {
		return fmt.Errorf("publishing the warm-up post: %w", err)
	}
	if _, _, err := waitCount(ctx, conn, "SELECT count() FROM mentions WHERE tag = 'bfmwarmup'", 1, time.Now(), time.Minute); err != nil {
		return fmt.Errorf("the aggregator did not write the warm-up post: %w", err)
	}

	const tick = 10 * time.Millisecond
	perTick := max(1, e.cfg.FreshRate/int(time.Second/tick))
	ticks := int(e.cfg.FreshDuration / tick)
	created := make([]time.Time, ticks)
	seen := make([]time.Time, ticks)

	pollCtx, stopPoll := context.WithCancel(ctx)
	var pollErr error
	var wg sync.WaitGroup
	var mu sync.Mutex
	wg.Go(func() {
		pollErr = pollMarkers(pollCtx, conn, func(n int, at time.Time) {
			mu.Lock()
			defer mu.Unlock()
			if n >= 0 && n < ticks && seen[n].IsZero() {
				seen[n] = at
			}
		})
	})

	sem := make(chan struct{}, 8)
	var pubWG sync.WaitGroup
	var pubErr error
	var pubMu sync.Mutex
	next := 0
	start := time.Now()
	for n := range ticks {
		time.Sleep(time.Until(start.Add(time.Duration(n) * tick)))
		now := time.Now()
		msgs := make([]post.Message, perTick)
		for j := range msgs {
			text := fx.texts[next%len(fx.texts)]
			if j == 0 {
				text += " #bfm" + strconv.Itoa(n)
			}
			next++
			msgs[j] = ingest.Hashtags.Message(post.Post{ID: "bench:fresh:" + strconv.Itoa(next), Text: text, CreatedAt: now.UTC(), Source: "webhook"})
		}
		created[n] = now
		sem <- struct{}{}
		pubWG.Go(func() {
			defer func() { <-sem }()
			if _, err := pub.Publish(ctx, msgs); err != nil {
				pubMu.Lock()
				pubErr = err
				pubMu.Unlock()
			}
		})
	}
	pubWG.Wait()
	offered := float64(next) / time.Since(start).Seconds()
	if pubErr != nil {
		stopPoll()
		wg.Wait()
		return fmt.Errorf("publishing: %w", pubErr)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		missing := slices.ContainsFunc(seen, time.Time.IsZero)
		mu.Unlock()
		if !missing {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopPoll()
	wg.Wait()
	if pollErr != nil && ctx.Err() == nil {
		return pollErr
	}
	var lat []float64
	for n := range ticks {
		if seen[n].IsZero() {
			r.Inexact = append(r.Inexact, fmt.Sprintf("freshness: marker #bfm%d never became visible", n))
			continue
		}
		lat = append(lat, max(seen[n].Sub(created[n]).Seconds(), 0))
	}
	slices.Sort(lat)
	r.FreshOffered = offered
	r.FreshP50 = quantile(lat, 0.50)
	r.FreshP99 = quantile(lat, 0.99)
	r.FreshMax = quantile(lat, 1)
	r.FreshMarkers = len(lat)
	return nil
}

// pollMarkers reports, every 50 ms until ctx ends, the marker tags visible
// in mentions.
func pollMarkers(ctx context.Context, conn driver.Conn, found func(n int, at time.Time)) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		rows, err := conn.Query(ctx, "SELECT tag FROM mentions WHERE created_at >= now() - 7200 AND startsWith(tag, 'bfm') GROUP BY tag")
		at := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("polling for markers: %w", err)
		}
		for rows.Next() {
			var tag string
			if err := rows.Scan(&tag); err != nil {
				rows.Close()
				return err
			}
			if n, err := strconv.Atoi(tag[len("bfm"):]); err == nil {
				found(n, at)
			}
		}
		rows.Close()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// quantile of sorted xs (nearest rank).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
