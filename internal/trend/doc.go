// Package trend answers the questions comms teams ask of the hashtag
// counts: which tags are used most over a window (Top), which are rising
// far above what their own history predicts (Trending), and how a few tags
// moved over time (Series).
//
// The counting is done by ClickHouse from schema v2's tiers
// (docs/schema-v2.md): a window is split into whole days read from tag_day,
// whole hours from tag_hour and the rest from mentions itself, each piece
// only where internal/rollup says its rows are complete (read.go). Posts are
// exact sums; accounts merge uniqCombined states. The display form of a tag
// comes from tag_display_day (the spelling most posts used). The scoring of
// trends is plain Go over the slot counts
// (Params.Score), so it is tested exactly without a database. Every query is
// parameterised and bounded (Query.Validate, SeriesQuery.Validate), and
// takes the time it is asked at explicitly, so callers inject their clock.
//
// Windows of Top and Trending end with the minute of the query time (Span);
// the steps of Series are aligned to the step (SeriesSpan). A trending
// answer says how much history it rests on (Trend.HistoryWindows), and
// Extent, Posts, Known and CheckFilter let callers say why an answer is
// empty. Grafana's Rising tags panel computes the same score in SQL.
//
// Each of Top, Trending and Series counts topics instead of tags with
// Query.Topics (SeriesQuery.Topics): the same read over topic_hour and
// topic_day, and mentions mapped to topics at the edges (internal/topic),
// so a post carrying two of a topic's tags counts once; a topic row lists
// its member tags' own counts. A tag page names the tag's topics.
//
// An operator can hide a tag (Hide, Unhide, Hidden; the table hidden_tags):
// Top and Trending leave it out, its counts stay, and Series marks it.
// WriteCSV is the CSV form of every answer, for --csv and ?format=csv.
//
// The trending formula and its parameters are documented in docs/trends.md.
package trend
