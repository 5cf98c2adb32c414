// Package topic keeps the topics operators define: a topic is a named set
// of tags (nato = {nato, otan, navo}), and its count over a window is the
// number of distinct posts carrying any of its tags, so a post tagged
// #NATO and #OTAN counts once (docs/trends.md, "Topics").
//
// The definitions live in ClickHouse's topics table (migration 0008), one
// row per topic, tag and edit, the latest row winning, so every replica and
// the HTTP API see an edit at once. The counts are not kept here: the
// rollup worker (internal/rollup) computes topic_hour and topic_day from
// mentions with the definitions of Members, and the trend reads
// (internal/trend) sum those tiers and read a window's edges from mentions
// the same way. An edit marks every stored hour for the worker's topic
// tiers (the Store's markAll, rollup.MarkTopics), so a topic counts all
// the history within retention as it is defined now: topics are
// retroactive, and reads stay exact while the worker catches up.
package topic
