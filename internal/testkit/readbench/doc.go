// Package readbench is the read benchmark of `make bench` (issue 18,
// docs/schema-v2.md): it loads a seeded synthetic history of posts over 30
// days (Zipf-like tags, authors, three sources, four languages) straight
// into ClickHouse, twice at each size: into a schema v1 database (its
// views fill tag_minute and tag_display) and into a schema v2 one (then
// rolled up). It then times the reads the CLI and the page make on both,
// p50 and p95, and the storage of each schema's tables, and reports how
// each figure grows from the small size to the large one.
//
// v2 is read through internal/trend and the API handler of internal/web,
// as tagpulse reads it. v1's reads are the SQL schema v1's trend code ran
// (kept here: that code is gone), so the two stand side by side in one
// run on one machine.
package readbench
