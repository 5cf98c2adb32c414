package deploycheck

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"tagpulse/internal/chstore"
	"tagpulse/internal/deletion"
	"tagpulse/internal/rollup"

	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/trend"
	"tagpulse/internal/trend/trendtest"
)

// chMacro matches the Grafana and ClickHouse-plugin macros the Hashtag
// trends queries use.
var chMacro = regexp.MustCompile(`\$__timeFilter\((\w+)\)|\$__interval_s|\$\{(\w+)(?::(\w+))?\}`)

// expandClickHouseSQL replaces the macros of a dashboard's ClickHouse query
// the way Grafana and the ClickHouse plugin do, for a time range from..to,
// a 60 s interval and the given variable values. A macro it does not know
// is an error, so a new one is not run half-expanded.
func expandClickHouseSQL(sql string, from, to time.Time, vars map[string][]string) (string, error) {
	var unknown []string
	out := chMacro.ReplaceAllStringFunc(sql, func(m string) string {
		g := chMacro.FindStringSubmatch(m)
		switch {
		case g[1] != "":
			return fmt.Sprintf("%s >= toDateTime(%d) AND %s <= toDateTime(%d)", g[1], from.Unix(), g[1], to.Unix())
		case m == "$__interval_s":
			return "60"
		}
		values, ok := vars[g[2]]
		if !ok {
			unknown = append(unknown, m)
			return m
		}
		switch g[3] {
		case "":
			return strings.Join(values, ",")
		case "singlequote":
			quoted := make([]string, len(values))
			for i, v := range values {
				quoted[i] = "'" + strings.ReplaceAll(v, "'", "\\'") + "'"
			}
			return strings.Join(quoted, ",")
		default:
			unknown = append(unknown, m)
			return m
		}
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("unknown macros %v", unknown)
	}
	if strings.Contains(out, "$") {
		return "", fmt.Errorf("unexpanded macro left in %q", out)
	}
	return out, nil
}

// The Hashtag trends queries run on the real ClickHouse of the local stack
// (18.16, the oldest version tagpulse supports) against the schema of
// chstore's migrations, and rank a known set of posts as expected.
func TestHashtagTrendsQueriesOnClickHouse(t *testing.T) {
	cfg, conn := stacktest.ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := chstore.Migrate(ctx, cfg); err != nil {
		t.Fatal(err)
	}

	// nif2025 bursts (5 posts in the last hour, none before), otan rises
	// (4 in the last hour against 2 an hour before), nato is steady (1 an
	// hour).
	now := time.Now().Truncate(time.Second)
	var mentions []trendtest.Mention
	add := func(tag, display string, at time.Time) {
		mentions = append(mentions, trendtest.Mention{
			PostID: fmt.Sprintf("p%d", len(mentions)+1), Tag: tag, Display: display, At: at, Source: "file", Lang: "fr",
		})
	}
	for i := range 5 {
		add("nif2025", "NIF2025", now.Add(-time.Duration(i+1)*5*time.Minute))
	}
	for i := range 4 {
		add("otan", "OTAN", now.Add(-time.Duration(i+1)*10*time.Minute))
	}
	for h := 1; h <= 24; h++ {
		add("otan", "otan", now.Add(-time.Duration(h)*time.Hour-10*time.Minute))
		add("otan", "otan", now.Add(-time.Duration(h)*time.Hour-40*time.Minute))
	}
	for h := 0; h <= 24; h++ {
		add("nato", "NATO", now.Add(-time.Duration(h)*time.Hour-30*time.Minute))
	}
	trendtest.Insert(t, conn, mentions)

	// First column of each query's rows, in order. otan rises (a score of
	// 1.5) but has fewer than the 5 posts a tag needs to trend.
	want := map[string][]string{
		"Top tags":      {"nif2025", "otan", "nato"},
		"Rising tags":   {"nif2025"},
		"variable tags": {"otan", "nato", "nif2025"},
	}
	vars := map[string][]string{"window": {"3600"}, "tags": {"nif2025", "nato"}}
	ran := 0
	for _, q := range dashboardQueries(t) {
		if q.RawSQL == "" {
			continue
		}
		ran++
		t.Run(q.Panel, func(t *testing.T) {
			sql, err := expandClickHouseSQL(q.RawSQL, now.Add(-3*time.Hour), now, vars)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			rows, err := conn.Query(ctx, sql)
			if err != nil {
				t.Fatalf("%s: %v\n%s", q, err, sql)
			}
			defer rows.Close()
			var first []string
			n := 0
			for rows.Next() {
				n++
				cols := rows.ColumnTypes()
				dest := make([]any, len(cols))
				for i, c := range cols {
					dest[i] = newScanTarget(c.ScanType())
				}
				if err := rows.Scan(dest...); err != nil {
					t.Fatal(err)
				}
				if s, ok := dest[0].(*string); ok {
					first = append(first, *s)
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Errorf("%s: no rows", q)
			}
			if w, ok := want[q.Panel]; ok && strings.Join(first, " ") != strings.Join(w, " ") {
				t.Errorf("%s: first column %v, want %v", q, first, w)
			}
		})
	}
	if ran < 5 {
		t.Errorf("ran %d ClickHouse queries, want the 4 panels and the tags variable", ran)
	}
}

// The Rising tags panel ranks as the API does: on the same data, as of the
// same minute, it lists the same tags in the same order with the same
// counts, expectations and scores as trend.Store.Trending; the Top tags
// panel lists what trend.Store.Top does.
func TestRisingTagsPanelRanksAsTheAPI(t *testing.T) {
	_, conn := stacktest.MigratedClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var rising, top string
	for _, q := range dashboardQueries(t) {
		switch q.Panel {
		case "Rising tags":
			rising = q.RawSQL
		case "Top tags":
			top = q.RawSQL
		}
	}
	if rising == "" || top == "" {
		t.Fatal("no Rising tags or Top tags panel")
	}

	// The story (a burst, a steady giant, a quiet tag) plus tags that
	// make the ranking and the variance guard matter: one rising 3×, one
	// bursty every few hours, one brand new, one with 5 posts over 2 of
	// history.
	at := serverNow(ctx, t, conn)
	end := at.Truncate(time.Minute).Add(time.Minute)
	ms := trendtest.NewStory(end).Mentions
	ms = append(ms, trendtest.Hourly("defense", "Defense", end, append([]int{15}, trendtest.Steady(5, 24)...), "rss", "fr")...)
	ms = append(ms, trendtest.Hourly("drones", "Drones", end, []int{12, 0, 0, 9, 0, 0, 11, 0, 0, 10, 0, 0, 12, 0, 0, 9, 0, 0, 11, 0, 0, 10, 0, 0, 12}, "file", "en")...)
	ms = append(ms, trendtest.Hourly("ia", "IA", end, []int{7}, "file", "fr")...)
	ms = append(ms, trendtest.Hourly("ue", "UE", end, append([]int{5}, trendtest.Steady(2, 24)...), "rss", "fr")...)
	// A burst an operator hid, and the steady giant hidden too: the panels
	// leave them out as the API does.
	ms = append(ms, trendtest.Hourly("spam", "Spam", end, []int{40}, "file", "en")...)
	// A flood: 30 posts of one account in the last hour. Ranked on
	// accounts, as both are by default, it does not trend.
	flood := trendtest.Hourly("flood", "Flood", end, []int{30}, "file", "en")
	for i := range flood {
		flood[i].Account = "did:plc:flooder"
	}
	ms = append(ms, flood...)
	trendtest.Insert(t, conn, ms)
	// Posts deleted at their source: 5 of #Defense's last hour (their time
	// given) and 3 of #IA's (looked up). The panels leave them out as the
	// API does.
	var tombstones []deletion.Tombstone
	defense, ia := 0, 0
	for _, m := range ms {
		switch {
		case strings.HasPrefix(m.PostID, "rss-defense-0-") && defense < 5:
			defense++
			tombstones = append(tombstones, deletion.Tombstone{PostID: m.PostID, CreatedAt: m.At, DeletedAt: at})
		case m.Tag == "ia" && ia < 3:
			ia++
			tombstones = append(tombstones, deletion.Tombstone{PostID: m.PostID, DeletedAt: at})
		}
	}
	hours, err := deletion.Store(ctx, conn, tombstones, at)
	if err == nil {
		err = rollup.Mark(ctx, conn, hours, at)
	}
	if err != nil || len(tombstones) != 8 {
		t.Fatalf("deleting %d posts: %v", len(tombstones), err)
	}
	hider := trend.NewStore(conn, trend.DefaultParams())
	for _, tag := range []string{"spam", "nato"} {
		if _, err := hider.Hide(ctx, tag, "test", "deploycheck", at); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		window  time.Duration
		atLeast int // trending tags, so that the comparison means something
	}{{time.Hour, 4}, {15 * time.Minute, 1}} {
		window := tc.window
		t.Run(trend.FormatDuration(window), func(t *testing.T) {
			// now() moves on: ask both as of one minute, and again if the
			// minute turned meanwhile.
			for attempt := 0; ; attempt++ {
				at := serverNow(ctx, t, conn)
				vars := map[string][]string{"window": {fmt.Sprint(int(window / time.Second))}}
				sql, err := expandClickHouseSQL(rising, at.Add(-time.Hour), at, vars)
				if err != nil {
					t.Fatal(err)
				}
				panel := risingRows(ctx, t, conn, sql)
				store := trend.NewStore(conn, trend.DefaultParams())
				api, err := store.Trending(ctx, trend.Query{At: at, Window: window, Limit: 20})
				if err != nil {
					t.Fatal(err)
				}
				if sql, err = expandClickHouseSQL(top, at.Add(-time.Hour), at, vars); err != nil {
					t.Fatal(err)
				}
				panelTop := topRows(ctx, t, conn, sql)
				apiTop, err := store.Top(ctx, trend.Query{At: at, Window: window, Limit: 20})
				if err != nil {
					t.Fatal(err)
				}
				if !serverNow(ctx, t, conn).Truncate(time.Minute).Equal(at.Truncate(time.Minute)) && attempt < 3 {
					continue
				}
				if len(api) < tc.atLeast {
					t.Fatalf("the API lists %d trending tags, want at least %d for a ranking to compare: %+v", len(api), tc.atLeast, api)
				}
				if len(panel) != len(api) {
					t.Fatalf("panel %+v\nAPI %+v", panel, api)
				}
				for i, a := range api {
					p := panel[i]
					if p.Tag != a.Tag || p.Count != a.Count || math.Abs(p.Expected-a.Expected) > 0.0015 || math.Abs(p.Score-a.Score) > 0.0015 {
						t.Errorf("#%d: panel %+v, API %+v", i+1, p, a)
					}
				}
				if !reflect.DeepEqual(panelTop, apiTop) {
					t.Errorf("Top tags panel %+v\nAPI top %+v", panelTop, apiTop)
				}
				for _, p := range panel {
					if p.Tag == "flood" {
						t.Errorf("#flood, 30 posts of one account, is in the Rising tags panel: %+v", p)
					}
					if p.Tag == "spam" || p.Tag == "nato" {
						t.Errorf("hidden #%s is in the Rising tags panel", p.Tag)
					}
				}
				for _, p := range panelTop {
					if p.Tag == "spam" || p.Tag == "nato" {
						t.Errorf("hidden #%s is in the Top tags panel", p.Tag)
					}
					if window == time.Hour && ((p.Tag == "defense" && p.Count != 10) || (p.Tag == "ia" && p.Count != 4)) {
						t.Errorf("Top tags panel counts %d posts of #%s: deleted posts counted", p.Count, p.Tag)
					}
				}
				return
			}
		})
	}
}

// dashboardQueries returns the queries of every provisioned dashboard.
func dashboardQueries(t *testing.T) []Query {
	t.Helper()
	dashboards, err := LoadDashboards(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	var out []Query
	for _, d := range dashboards {
		queries, err := d.Queries()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, queries...)
	}
	return out
}

// serverNow is ClickHouse's now(), which the dashboard queries use.
func serverNow(ctx context.Context, t *testing.T, conn driver.Conn) time.Time {
	t.Helper()
	var now time.Time
	if err := conn.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
		t.Fatal(err)
	}
	return now.UTC()
}

// risingRows runs the Rising tags query and reads its rows as trends.
func risingRows(ctx context.Context, t *testing.T, conn driver.Conn, sql string) []trend.Trend {
	return queryRows(ctx, t, conn, sql, func(rows driver.Rows) (trend.Trend, error) {
		var tr trend.Trend
		err := rows.Scan(&tr.Tag, &tr.Count, &tr.Expected, &tr.Score)
		return tr, err
	})
}

// topRows runs the Top tags query and reads its rows as counts.
func topRows(ctx context.Context, t *testing.T, conn driver.Conn, sql string) []trend.Count {
	return queryRows(ctx, t, conn, sql, func(rows driver.Rows) (trend.Count, error) {
		var c trend.Count
		err := rows.Scan(&c.Tag, &c.Display, &c.Count, &c.Accounts)
		return c, err
	})
}

// queryRows runs sql and reads each row with scan.
func queryRows[T any](ctx context.Context, t *testing.T, conn driver.Conn, sql string, scan func(driver.Rows) (T, error)) []T {
	t.Helper()
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func newScanTarget(typ reflect.Type) any { return reflect.New(typ).Interface() }
