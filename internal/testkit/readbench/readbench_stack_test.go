package readbench

import (
	"context"
	"testing"
	"time"

	"tagpulse/internal/testkit/stacktest"
)

// TestSmallRun runs the whole benchmark at two tiny sizes on the stack's
// ClickHouse (the one the test run points at): every read answers on both
// schemas, and the loads, the rollup and the sizes are recorded.
func TestSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("loads two small histories into ClickHouse")
	}
	stacktest.Require(t)
	cfg := DefaultConfig()
	cfg.Servers = []Server{{"stack", stacktest.ClickHouseAddr}}
	cfg.Sizes = []int{2000, 6000}
	cfg.Runs = 1
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Results) != 2 {
		t.Fatalf("%d results, want one per size", len(r.Results))
	}
	for _, x := range r.Results {
		// 1 to 3 tags a post: about twice as many mentions as posts.
		if x.Mentions < uint64(x.Posts) || x.Mentions > 3*uint64(x.Posts) {
			t.Errorf("%d posts gave %d mentions, want between 1 and 3 each", x.Posts, x.Mentions)
		}
		for _, name := range readNames {
			if f, ok := x.V2[name]; !ok || f.P50 <= 0 {
				t.Errorf("%d posts: v2 %s not timed: %+v", x.Posts, name, f)
			}
		}
		if len(x.V1) != len(readNames)-3 { // the page's calls and topics are v2 only
			t.Errorf("%d posts: %d v1 reads timed, want %d", x.Posts, len(x.V1), len(readNames)-3)
		}
		for _, k := range []string{"v1 mentions", "v1 counts", "v2 mentions", "v2 counts"} {
			if x.Bytes[k] == 0 {
				t.Errorf("%d posts: no size for %s", x.Posts, k)
			}
		}
	}
	t.Log("\n" + r.Markdown("go test", "test", "now", "here"))
}
