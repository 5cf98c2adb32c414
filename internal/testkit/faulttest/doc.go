// Package faulttest holds end-to-end fault-injection tests of the whole
// pipeline: the real cmd/ingest and cmd/aggregate binaries, built once per
// test run (stacktest.Binaries), against the real local stack (scripts/stack), each test with its
// own Kafka topic and ClickHouse database (internal/testkit/stacktest).
//
// Every test computes the exact hashtag counts from the posts it generated
// and compares them with what ClickHouse holds after the fault
// (stacktest.TagTotals: distinct posts per tag in mentions, and the same
// again through the hour and day rollups once they caught up): a fault
// may delay a post, never lose it or count it twice.
//
// Tests that disrupt the shared stack (a stopped Kafka broker, a frozen
// ClickHouse) run only when TAGPULSE_FAULT_TESTS=1, which .ci/run sets, and
// always restore the service in t.Cleanup, even when they fail. Those that
// only kill or feed their own processes run with every integration test.
// docs/guarantees.md names the test behind each promise.
package faulttest
