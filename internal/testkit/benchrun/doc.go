// Package benchrun is tagpulse's end-to-end benchmark (`make bench`): it
// generates a seeded, multilingual corpus with Zipf-distributed hashtags
// (package corpus), then measures on the local stack, in one run and on
// the same messages, the limits (raw produce and consume with kcat and a bare kafka-go
// writer/reader, a raw clickhouse-go batch insert), the peer a user would
// pick instead (ClickHouse's Kafka table engine feeding a MergeTree through
// a materialized view) and tagpulse itself (`ingest file`, `aggregate run
// --until-caught-up`, end-to-end freshness at a fixed offered rate, the
// aggregator's peak RSS). Every count tagpulse produces is checked against
// the counts the generator wrote; a run with a wrong count fails. The
// results are printed as a table of absolute figures and ratios to the
// limits, and written into BENCHMARKS.md.
package benchrun
