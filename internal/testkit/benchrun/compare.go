package benchrun

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Build is one build of tagpulse to compare: a name (a commit, say) and
// the directory of its ingest and aggregate binaries.
type Build struct {
	Name, Bin string
}

// Comparison holds, per build, the samples of each measure of Compare.
type Comparison struct {
	Posts   int
	Builds  []Build
	Samples [][][]float64 // per build, per compareMeasures entry: the samples
}

// Measures of a comparison, in the order of its table: what each reads
// from a round's `ingest file` and `aggregate run`. A wall time is shown
// with the rate it gives.
var compareMeasures = []struct {
	name  string
	unit  string
	wall  bool
	value func(ingest, aggregate result) float64
}{
	{"`ingest file`, wall", "s", true, func(in, _ result) float64 { return in.wall.Seconds() }},
	{"`ingest file`, CPU (user + sys)", "s", false, func(in, _ result) float64 { return in.cpu.Seconds() }},
	{"`aggregate run --until-caught-up`, wall", "s", true, func(_, agg result) float64 { return agg.wall.Seconds() }},
	{"`aggregate run --until-caught-up`, CPU", "s", false, func(_, agg result) float64 { return agg.cpu.Seconds() }},
	{"aggregate peak RSS (VmHWM)", "MB", false, func(_, agg result) float64 { return float64(agg.peak) / 1e6 }},
}

// Compare measures builds side by side on one corpus: in each of cfg.Runs
// rounds, every build in turn runs `ingest file` into a fresh topic and
// `aggregate run --until-caught-up` on that topic into a fresh database,
// whose counts are checked. Alternating the builds round by round puts
// them in the same minutes of a machine whose speed drifts; the table gives
// medians. It is how the before/after tables of BENCHMARKS.md are made.
func Compare(ctx context.Context, cfg Config, builds []Build) (*Comparison, error) {
	if len(builds) < 2 {
		return nil, fmt.Errorf("compare: want at least two builds, got %d", len(builds))
	}
	cfg.CurrentClickHouseAddr = "" // builds are compared on one server
	e, fx, done, err := setUp(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer done()
	c := &Comparison{Posts: fx.exp.Posts, Builds: builds, Samples: make([][][]float64, len(builds))}
	for b := range builds {
		c.Samples[b] = make([][]float64, len(compareMeasures))
	}
	var counts Report
	for i := range e.cfg.Runs {
		for b, build := range builds {
			run := strconv.Itoa(i) + "_" + strconv.Itoa(b)
			topic, err := e.topic(ctx, "ab"+run)
			if err != nil {
				return nil, err
			}
			in, err := e.ingestFile(ctx, fx, build.Bin, topic)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", build.Name, err)
			}
			agg, err := e.aggregate(ctx, fx, build.Bin, topic, run, &counts)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", build.Name, err)
			}
			if len(counts.Inexact) > 0 {
				return nil, fmt.Errorf("%s: counts are not exact: %s", build.Name, strings.Join(counts.Inexact, "; "))
			}
			for m, measure := range compareMeasures {
				c.Samples[b][m] = append(c.Samples[b][m], measure.value(in, agg))
			}
			e.log.Info("measured", "build", build.Name, "round", i+1, "ingest", in.wall.Round(time.Millisecond), "aggregate", agg.wall.Round(time.Millisecond))
		}
	}
	return c, nil
}

// Markdown renders the medians, with each later build's change from the
// first.
func (c *Comparison) Markdown() string {
	var b strings.Builder
	b.WriteString("| median |")
	for _, build := range c.Builds {
		fmt.Fprintf(&b, " %s |", build.Name)
	}
	b.WriteString(" change |\n|---|" + strings.Repeat("---:|", len(c.Builds)+1) + "\n")
	for k, m := range compareMeasures {
		fmt.Fprintf(&b, "| %s |", m.name)
		first := median(c.Samples[0][k])
		var last float64
		for i := range c.Builds {
			last = median(c.Samples[i][k])
			if m.wall {
				fmt.Fprintf(&b, " %.2f s (%s) |", last, rate(float64(c.Posts)/last, "posts"))
			} else {
				fmt.Fprintf(&b, " %.2f %s |", last, m.unit)
			}
		}
		change := "–"
		if first > 0 {
			change = fmt.Sprintf("%+.0f%%", 100*(last-first)/first)
		}
		fmt.Fprintf(&b, " %s |\n", change)
	}
	return b.String()
}
