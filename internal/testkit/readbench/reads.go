package readbench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"

	"tagpulse/internal/trend"
	"tagpulse/internal/web"
)

// A read is one question timed: run answers it once.
type read struct {
	name string
	run  func(ctx context.Context) error
}

// Reads the benchmark times, in the order of the report.
var readNames = []string{
	"top 1h", "top 24h", "top 7d", "top 30d",
	"trending 1h", "trending 24h",
	"series 7d@1h, 10 tags",
	"page 1h (API)", "page 24h (API)",
	"top 30d by topic",
}

const day = 24 * time.Hour

// v2Reads are the reads as tagpulse makes them: internal/trend, and for
// the page the calls app.js makes (trending and top, then the series of
// their tags, then the filters) through the API handler with its cache
// off.
func v2Reads(conn driver.Conn, at time.Time, seriesTags []string) []read {
	store := trend.NewStore(conn, trend.DefaultParams())
	api := web.NewHandler(web.Options{Store: store, Now: func() time.Time { return at }, Config: web.Config{CacheTTL: 0}})
	top := func(w time.Duration) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := store.Top(ctx, trend.Query{At: at, Window: w, Limit: 20})
			return err
		}
	}
	trending := func(w time.Duration) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := store.Trending(ctx, trend.Query{At: at, Window: w, Limit: 20})
			return err
		}
	}
	return []read{
		{"top 1h", top(time.Hour)}, {"top 24h", top(day)}, {"top 7d", top(7 * day)}, {"top 30d", top(30 * day)},
		{"trending 1h", trending(time.Hour)}, {"trending 24h", trending(day)},
		{"series 7d@1h, 10 tags", func(ctx context.Context) error {
			_, err := store.Series(ctx, trend.SeriesQuery{At: at, Window: 7 * day, Step: time.Hour, Tags: seriesTags})
			return err
		}},
		{"page 1h (API)", func(ctx context.Context) error { return page(ctx, api, "1h", "6h", "12m") }},
		{"page 24h (API)", func(ctx context.Context) error { return page(ctx, api, "24h", "7d", "6h") }},
		{"top 30d by topic", func(ctx context.Context) error {
			_, err := store.Top(ctx, trend.Query{At: at, Window: 30 * day, Limit: 20, Topics: true})
			return err
		}},
	}
}

// page makes the page's calls for a window as app.js does, and fails on
// any answer but 200: the filters, trending and top at once, then the
// series of their tags (sparkline span and step as app.js's SPARKS).
func page(ctx context.Context, api http.Handler, window, span, step string) error {
	var (
		g      errgroup.Group
		bodies [3]string
	)
	for i, target := range []string{"/api/v1/trending?limit=20&window=" + window, "/api/v1/top?limit=20&window=" + window, "/api/v1/filters"} {
		g.Go(func() (err error) {
			bodies[i], err = get(ctx, api, target)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	var tags []string
	seen := map[string]bool{}
	for _, body := range bodies[:2] {
		// The tags, without decoding the JSON fully: every "tag" key.
		for _, part := range strings.Split(body, `"tag":"`)[1:] {
			if t := part[:strings.IndexByte(part, '"')]; !seen[t] {
				seen[t] = true
				tags = append(tags, t)
			}
		}
	}
	if len(tags) == 0 {
		return nil
	}
	q := url.Values{"window": {span}, "step": {step}}
	for _, t := range tags {
		q.Add("tag", t)
	}
	_, err := get(ctx, api, "/api/v1/series?"+q.Encode())
	return err
}

func get(ctx context.Context, api http.Handler, target string) (string, error) {
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	req.Host = "localhost"
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d %s", target, rec.Code, body)
	}
	return string(body), nil
}

// v1Reads are the reads schema v1's trend code made: the SQL over
// tag_minute, and the display forms of the tags returned from
// tag_display. The page's calls are not timed on v1 (its API is gone).
func v1Reads(conn driver.Conn, at time.Time, seriesTags []string) []read {
	top := func(w time.Duration) func(context.Context) error {
		return func(ctx context.Context) error {
			from, end := trend.Span(at, w)
			tags, err := queryTags(ctx, conn, `SELECT tag, uniqExactMerge(posts) AS n FROM tag_minute
WHERE minute >= toDateTime(@from) AND minute < toDateTime(@end)`+v1NotHidden+`
GROUP BY tag ORDER BY n DESC, tag ASC LIMIT 20`,
				clickhouse.Named("from", from.Unix()), clickhouse.Named("end", end.Unix()))
			if err != nil {
				return err
			}
			return v1Displays(ctx, conn, tags)
		}
	}
	trending := func(w time.Duration) func(context.Context) error {
		return func(ctx context.Context) error {
			from, end := trend.Span(at, w)
			k := int64(trend.DefaultParams().BaselineWindows)
			secs := int64(w / time.Second)
			tags, err := queryTags(ctx, conn, `SELECT tag, toUInt32(intDiv(@end - 1 - toUInt32(minute), @window)) AS slot, uniqExactMerge(posts) AS n
FROM tag_minute
WHERE minute >= toDateTime(@first) AND minute < toDateTime(@end)
  AND tag IN (
    SELECT tag FROM tag_minute
    WHERE minute >= toDateTime(@current) AND minute < toDateTime(@end)`+v1NotHidden+`
    GROUP BY tag
    HAVING uniqExactMerge(posts) >= @min)
GROUP BY tag, slot`,
				clickhouse.Named("first", from.Unix()-k*secs), clickhouse.Named("current", from.Unix()),
				clickhouse.Named("end", end.Unix()), clickhouse.Named("window", secs),
				clickhouse.Named("min", trend.DefaultParams().MinCount))
			if err != nil {
				return err
			}
			if len(tags) > 20 {
				tags = tags[:20] // scoring is Go; the display lookup is of the answer's tags
			}
			return v1Displays(ctx, conn, tags)
		}
	}
	return []read{
		{"top 1h", top(time.Hour)}, {"top 24h", top(day)}, {"top 7d", top(7 * day)}, {"top 30d", top(30 * day)},
		{"trending 1h", trending(time.Hour)}, {"trending 24h", trending(day)},
		{"series 7d@1h, 10 tags", func(ctx context.Context) error {
			from, end := trend.SeriesSpan(at, 7*day, time.Hour)
			if _, err := queryTags(ctx, conn, `SELECT tag, toUInt32(intDiv(toUInt32(minute) - @from, @step)) AS i, uniqExactMerge(posts) AS n
FROM tag_minute
WHERE has(@tags, tag) AND minute >= toDateTime(@from) AND minute < toDateTime(@end)
GROUP BY tag, i`, clickhouse.Named("tags", seriesTags), clickhouse.Named("from", from.Unix()),
				clickhouse.Named("end", end.Unix()), clickhouse.Named("step", int64(3600))); err != nil {
				return err
			}
			return v1Displays(ctx, conn, seriesTags)
		}},
	}
}

// v1NotHidden is schema v1's condition that kept hidden tags out.
const v1NotHidden = ` AND tag NOT IN (SELECT tag FROM hidden_tags GROUP BY tag HAVING argMax(hidden, version) = 1)`

func v1Displays(ctx context.Context, conn driver.Conn, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	_, err := queryTags(ctx, conn, `SELECT tag, argMax(display, (n, display)) FROM (
    SELECT tag, display, uniqExactMerge(posts) AS n FROM tag_display WHERE has(@tags, tag) GROUP BY tag, display)
GROUP BY tag`, clickhouse.Named("tags", tags))
	return err
}

// queryTags runs a query whose first column is a tag, reads every row and
// returns the distinct tags in order.
func queryTags(ctx context.Context, conn driver.Conn, sql string, args ...any) ([]string, error) {
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var tags []string
	seen := map[string]bool{}
	for rows.Next() {
		cols := rows.ColumnTypes()
		vals := make([]any, len(cols))
		var tag string
		vals[0] = &tag
		for i := 1; i < len(vals); i++ {
			vals[i] = reflect.New(cols[i].ScanType()).Interface()
		}
		if err := rows.Scan(vals...); err != nil {
			return nil, err
		}
		if !seen[tag] {
			seen[tag] = true
			tags = append(tags, tag)
		}
	}
	return tags, rows.Err()
}

func replaceAll(s string, oldNew ...string) string { return strings.NewReplacer(oldNew...).Replace(s) }
