// Package pipelinetest holds end-to-end tests of the whole pipeline as a
// user runs it: the real ingest and aggregate binaries, the real Kafka and
// ClickHouse of the local stack, and the page in headless Chromium. It has
// no code of its own beyond its tests.
package pipelinetest
