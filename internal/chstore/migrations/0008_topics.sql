-- Topics (docs/trends.md, "Topics"): a topic is a named set of tags, and
-- its count is the distinct posts carrying any of them.

-- The definitions, one row per topic × tag and per edit: adding a tag to a
-- topic inserts a row with member = 1, removing it one with member = 0.
-- The row with the greatest version (nanoseconds since 1970 when it was
-- written) is the tag's state in the topic, read with argMax so that no
-- reader depends on a merge having happened, as hidden_tags is. Every edit
-- marks the stored hours (topic_dirty, below), so the rollup worker
-- recomputes topic_hour and topic_day for all of history: an edit is
-- retroactive.
CREATE TABLE IF NOT EXISTS topics (
    topic    String,
    tag      String,
    member   UInt8,
    added_by String,
    added_at DateTime,
    version  UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (topic, tag);

-- Distinct posts (exact) and accounts (a uniqCombined state) per topic and
-- hour over the union of the topic's tags, per source and language and
-- with source = lang = '*', as tag_hour is per tag. A post carrying two
-- tags of a topic counts once. Written whole per day partition by the
-- rollup worker (REPLACE PARTITION), so reads need no FINAL.
CREATE TABLE IF NOT EXISTS topic_hour (
    hour     DateTime,
    topic    String,
    source   String,
    lang     String,
    posts    UInt64,
    accounts AggregateFunction(uniqCombined(15), String),
    account_count UInt64 MATERIALIZED finalizeAggregation(accounts)
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(hour)
ORDER BY (source, lang, topic, hour)
SETTINGS index_granularity = 256;

-- The same per day, computed from the day's hours once the day has ended.
CREATE TABLE IF NOT EXISTS topic_day (
    day      DateTime,
    topic    String,
    source   String,
    lang     String,
    posts    UInt64,
    accounts AggregateFunction(uniqCombined(15), String),
    account_count UInt64 MATERIALIZED finalizeAggregation(accounts)
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(day)
ORDER BY (source, lang, topic, day)
SETTINGS index_granularity = 256;

-- One row per stored hour for every topic edit (rollup.MarkTopics): the
-- topic tiers' rows of an hour are up to date while the hour has as many
-- marks here and in rollup_dirty together as when they were recomputed,
-- so an edit makes the worker redo the topic tiers of all history and
-- leaves the other tiers trusted.
CREATE TABLE IF NOT EXISTS topic_dirty (
    hour      DateTime,
    marked_at DateTime
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(hour)
ORDER BY hour;
