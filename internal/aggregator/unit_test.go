package aggregator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"

	"tagpulse/internal/post"
	"tagpulse/internal/retry"
)

func TestBatchAdd(t *testing.T) {
	valid, err := os.ReadFile("testdata/valid.json")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 10, 16, 0, 0, time.UTC)
	tests := []struct {
		name       string
		value      []byte
		wantRows   int
		wantReason string
	}{
		{"valid post, repeated tag counted once", valid, 2, ""},
		{"not JSON", []byte("hello"), 0, "invalid_json"},
		{"invalid UTF-8", []byte("{\"id\":\"\xff\"}"), 0, "invalid_utf8"},
		{"no id", []byte(`{"text":"t","created_at":"2026-03-01T10:15:42Z"}`), 0, "missing_field"},
		{"wrong type", []byte(`{"id":1,"text":"t","created_at":"2026-03-01T10:15:42Z"}`), 0, "wrong_type"},
		{"before 1970", []byte(`{"id":"a","text":"t","created_at":"1969-12-31T23:59:59Z"}`), 0, "invalid_value"},
		{"no hashtags", []byte(`{"id":"a","text":"t","created_at":"2026-03-01T10:15:42Z"}`), 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBatch()
			p := b.add(kafka.Message{Partition: 2, Offset: 41, Value: tt.value}, now)
			if tt.wantReason == "" && p != nil {
				t.Fatalf("unexpected poison: %v", p.Err)
			}
			if tt.wantReason != "" && (p == nil || p.Reason != tt.wantReason) {
				t.Fatalf("poison = %+v, want reason %s", p, tt.wantReason)
			}
			if b.rows.Len() != tt.wantRows {
				t.Errorf("rows = %d, want %d", b.rows.Len(), tt.wantRows)
			}
			if b.messages != 1 || b.last[2].Offset != 41 {
				t.Errorf("the message is not recorded for the commit: messages %d, last %+v", b.messages, b.last)
			}
		})
	}
}

func TestMentionFields(t *testing.T) {
	valid, _ := os.ReadFile("testdata/valid.json")
	now := time.Date(2026, 3, 1, 10, 16, 0, 0, time.UTC)
	rows, err := mentions(kafka.Message{Partition: 4, Offset: 7, Value: valid}, now)
	if err != nil {
		t.Fatal(err)
	}
	r := rows[0]
	if r.PostID != "rss:1" || r.Tag != "rearmement" || r.Display != "Réarmement" || r.Source != "rss-1" || r.Lang != "fr" ||
		r.ExtractorVersion != 3 || r.KafkaPartition != 4 || r.KafkaOffset != 7 || !r.InsertedAt.Equal(now) ||
		!r.CreatedAt.Equal(time.Date(2026, 3, 1, 10, 15, 42, 0, time.UTC)) {
		t.Errorf("first row = %+v", r)
	}
	if rows[1].Display != "OTAN" {
		t.Errorf("display of otan = %q, want the first spelling, OTAN", rows[1].Display)
	}
}

func TestPoisonGuard(t *testing.T) {
	tests := []struct {
		name     string
		pattern  func(i int) bool
		messages int
		wantTrip bool
	}{
		{"no poison", func(int) bool { return false }, 5000, false},
		{"every other message poison: half, not over half", func(i int) bool { return i%2 == 1 }, 5000, false},
		{"all poison, but only 100", func(i int) bool { return i < 100 }, 5000, false},
		{"all poison", func(int) bool { return true }, 5000, true},
		{"two in three poison", func(i int) bool { return i%3 != 0 }, 5000, true},
		{"a burst of 150 poison in 1000 good", func(i int) bool { return i >= 1000 && i < 1150 }, 3000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newPoisonGuard(1000, 100, 0.5)
			var err error
			for i := 0; i < tt.messages && err == nil; i++ {
				err = g.observe(tt.pattern(i))
			}
			if tripped := errors.Is(err, ErrPoisonRate); tripped != tt.wantTrip {
				t.Errorf("tripped = %v (%v), want %v", tripped, err, tt.wantTrip)
			}
		})
	}
}

type tempErr struct{}

func (tempErr) Error() string   { return "i/o timeout" }
func (tempErr) Timeout() bool   { return true }
func (tempErr) Temporary() bool { return true }

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"unknown table", fmt.Errorf("insert: %w", &clickhouse.Exception{Code: 60, Name: "DB::Exception"}), false},
		{"wrong password", &clickhouse.Exception{Code: 516}, false},
		{"too many parts", &clickhouse.Exception{Code: 252}, true},
		{"memory limit", &clickhouse.Exception{Code: 241}, true},
		{"network timeout", fmt.Errorf("read: %w", tempErr{}), true},
		{"connection closed", io.EOF, true},
		{"deadline", context.DeadlineExceeded, true},
		{"canceled", context.Canceled, false},
		{"marked fatal", fmt.Errorf("schema: %w", ErrFatal), false},
		{"kafka temporary", kafka.RebalanceInProgress, true},
		{"kafka authorization", kafka.TopicAuthorizationFailed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestRetrierStopsOnFatal(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	r := retrier{backoff: retry.Backoff{Min: time.Millisecond, Max: time.Millisecond}, metrics: m, health: newHealth(m.Ready), log: testLogger(t)}
	calls := 0
	err := r.do(context.Background(), opInsert, kindInsert, func(context.Context) error {
		calls++
		if calls < 3 {
			return io.EOF
		}
		return &clickhouse.Exception{Code: 60}
	})
	if calls != 3 || Retryable(err) {
		t.Fatalf("calls = %d, err = %v; want 3 calls ending in a fatal error", calls, err)
	}
	if got := testutil.ToFloat64(m.Retries.WithLabelValues(opInsert)); got != 2 {
		t.Errorf("retries_total{operation=insert} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.Errors.WithLabelValues(kindInsert)); got != 3 {
		t.Errorf("errors_total{kind=clickhouse_insert} = %v, want 3", got)
	}
}

func TestMetricsExportedFromStart(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.initPartitions([]int{0, 1})
	m.initTopics("posts", "posts.dlq")
	names := map[string]bool{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	doc, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "| `tagpulse_aggregate_") {
			continue
		}
		name := strings.Trim(strings.Fields(line)[1], "`")
		if !names[name] {
			t.Errorf("%s (docs/metrics.md) is not exported at start", name)
		}
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		ok     bool
	}{
		{"defaults", func(*Config) {}, true},
		{"no group", func(c *Config) { c.Group = "" }, false},
		{"zero rows", func(c *Config) { c.BatchRows = 0 }, false},
		{"tiny bytes", func(c *Config) { c.BatchBytes = 10 }, false},
		{"no flush interval", func(c *Config) { c.FlushInterval = 0 }, false},
		{"backoff upside down", func(c *Config) { c.RetryMin, c.RetryMax = time.Second, time.Millisecond }, false},
		{"no fetch wait", func(c *Config) { c.FetchMaxWait = 0 }, false},
		{"fetch wait of a minute", func(c *Config) { c.FetchMaxWait = time.Minute }, false},
		{"fetch wait of 1ms", func(c *Config) { c.FetchMaxWait = time.Millisecond }, true},
		{"no memory limit", func(c *Config) { c.MemoryLimit = 0 }, true},
		{"memory limit of 1 MiB", func(c *Config) { c.MemoryLimit = 1 << 20 }, false},
		{"durability fsync", func(c *Config) { c.InsertDurability = "fsync" }, true},
		{"durability server", func(c *Config) { c.InsertDurability = "server" }, true},
		{"durability unknown", func(c *Config) { c.InsertDurability = "always" }, false},
		{"no durability", func(c *Config) { c.InsertDurability = "" }, false},
		{"quorum of 2", func(c *Config) { c.InsertQuorum = 2 }, true},
		{"negative quorum", func(c *Config) { c.InsertQuorum = -1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			tt.change(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestRepeatedTagsOneRowEach(t *testing.T) {
	tests := []struct {
		name     string
		distinct int
		repeats  int
	}{
		{"a few tags, compared pairwise", 3, 2},
		{"as many as are compared pairwise", smallTags, 1},
		{"more tags than that, through the map", 40, 2}, // 80 tags: within hashtag.MaxTagsPerPost
	}
	now := time.Date(2026, 3, 1, 10, 16, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tags []string
			for r := range tt.repeats {
				for i := range tt.distinct {
					display := fmt.Sprintf("Tag%d", i)
					if r > 0 {
						display = fmt.Sprintf("TAG%d", i)
					}
					tags = append(tags, fmt.Sprintf(`{"tag":"tag%d","display":%q}`, i, display))
				}
			}
			value := fmt.Sprintf(`{"id":"a","text":"t","created_at":"2026-03-01T10:15:42Z","hashtags":[%s]}`, strings.Join(tags, ","))
			b := newBatch()
			for range 2 { // the second message reuses the set of the first
				if p := b.add(kafka.Message{Value: []byte(value)}, now); p != nil {
					t.Fatalf("poison: %v", p.Err)
				}
			}
			if b.rows.Len() != 2*tt.distinct {
				t.Fatalf("rows = %d, want %d (one per distinct tag and message)", b.rows.Len(), 2*tt.distinct)
			}
			for i := range tt.distinct {
				if r := b.rows.Row(i); r.Tag != fmt.Sprintf("tag%d", i) || r.Display != fmt.Sprintf("Tag%d", i) {
					t.Errorf("row %d = %s (%s), want tag%d with its first spelling Tag%d", i, r.Tag, r.Display, i, i)
				}
			}
		})
	}
}

// One message of 61,818 tags took 3.8 s when each tag was compared with
// every row before it; in linear time it takes milliseconds. The bound is
// loose enough for -race on a busy machine, and far below the old cost.
func TestTagSetIsLinear(t *testing.T) {
	const n = 100_000
	tags := make([]string, n)
	for i := range tags {
		tags[i] = fmt.Sprintf("tag%d", i%(n/2)) // each twice
	}
	var s tagSet
	start := time.Now()
	s.reset(n)
	distinct := 0
	for _, tag := range tags {
		if s.add(tag) {
			distinct++
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("de-duplicating %d tags took %s, want well under 2s", n, d)
	}
	if distinct != n/2 {
		t.Errorf("distinct = %d, want %d", distinct, n/2)
	}
}

func TestBatchFullAtMaxDays(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 16, 0, 0, time.UTC)
	b := newBatch()
	for i := range MaxDaysPerBatch + 1 {
		if b.full(1<<30, 1<<30) {
			if i != MaxDaysPerBatch {
				t.Fatalf("batch full after %d days, want %d", i, MaxDaysPerBatch)
			}
			return
		}
		// Two posts a day: a day already held does not count again.
		for j := range 2 {
			created := now.AddDate(0, 0, -i).Format(time.RFC3339)
			value := fmt.Sprintf(`{"id":"p%d-%d","text":"t","created_at":%q,"hashtags":[{"tag":"a","display":"A"}]}`, i, j, created)
			if p := b.add(kafka.Message{Value: []byte(value)}, now); p != nil {
				t.Fatalf("poison: %v", p.Err)
			}
		}
	}
	t.Fatalf("batch of %d days not full", MaxDaysPerBatch+1)
}

// TestReextractKeepsProducerTags: a rebuild finds a post's tags again as
// ingest did, from its text and from the tags its producer gave, so a
// rebuild does not lose the producer's tags.
func TestReextractKeepsProducerTags(t *testing.T) {
	msg := post.Message{
		Post:         post.Post{ID: "p1", Text: "about #Drones", CreatedAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)},
		Hashtags:     []post.Hashtag{{Tag: "stale", Display: "stale"}},
		ProducerTags: []string{"OTAN"},
	}
	value, err := post.AppendMessage(nil, &msg)
	if err != nil {
		t.Fatal(err)
	}
	var s selector
	m, keep := s.sel(kafka.Message{Value: value}, ReplayOptions{Reextract: true})
	if !keep {
		t.Fatal("message not kept")
	}
	got, err := post.DecodeMessage(m.Value)
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, h := range got.Hashtags {
		tags = append(tags, h.Tag)
	}
	if want := []string{"drones", "otan"}; !slices.Equal(tags, want) {
		t.Errorf("re-extracted tags %v, want %v", tags, want)
	}
}

// TestDeadLetterPostPart: the post part of a dead letter is what `ingest
// file` reads: the message's extracted hashtags dropped, its producer's
// tags as the post's hashtags, fields of the message alone left out.
func TestDeadLetterPostPart(t *testing.T) {
	tests := []struct{ value, want string }{
		{`{"id":"a","text":"t #x","hashtags":[{"tag":"x","display":"x"}],"extractor_version":3}`, `{"id":"a","text":"t #x"}`},
		{`{"id":"a","text":"t","hashtags":[{"tag":"otan","display":"OTAN"}],"producer_hashtags":["OTAN"]}`, `{"hashtags":["OTAN"],"id":"a","text":"t"}`},
		{`not json`, ``},
	}
	for _, tt := range tests {
		if got := string(postPart([]byte(tt.value))); got != tt.want {
			t.Errorf("postPart(%s) = %s, want %s", tt.value, got, tt.want)
		}
	}
}
