-- Schema v2 (docs/schema-v2.md): hour and day rollups recomputed from
-- mentions, so a read costs tags × buckets instead of posts; distinct
-- accounts beside distinct posts. The Go step of this migration
-- (chstore.upgradeMentions) copies v1's mentions into mentions_v2, then
-- swaps the names, so that mentions is ordered by hour first.

-- The raw record: one row per post × hashtag, now with the post's account
-- and ordered by hour first, so a time range (a window's edges, an hour to
-- recompute) reads only its hours. Copies of a row fold on (hour, tag,
-- post_id), since a post's created_at fixes its hour.
CREATE TABLE IF NOT EXISTS mentions_v2 (
    post_id           String,
    account           String,
    tag               String,
    display           String,
    created_at        DateTime,
    source            String,
    lang              String,
    extractor_version UInt16,
    kafka_partition   Int32,
    kafka_offset      Int64,
    inserted_at       DateTime
) ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMMDD(created_at)
ORDER BY (toStartOfHour(created_at), tag, post_id);

-- Distinct posts (exact) and accounts (a uniqCombined state) per tag and
-- hour, per source and language, and with source = lang = '*' for all of
-- them. A day partition is written whole by the rollup worker with
-- REPLACE PARTITION from its staging table, so no key is ever held twice
-- and reads need no FINAL. Granules of 256 rows, not 8192: a read of a
-- few tags (their accounts states, display forms) then decodes those
-- tags' rows and few others. account_count is the number the accounts
-- state holds, stored when the row is written, for reads of one bucket
-- (trending's baseline windows, a series' steps) that need no merge.
-- Migration 0009 gave the tables of databases made before it both.
CREATE TABLE IF NOT EXISTS tag_hour (
    hour     DateTime,
    tag      String,
    source   String,
    lang     String,
    posts    UInt64,
    accounts AggregateFunction(uniqCombined(15), String),
    account_count UInt64 MATERIALIZED finalizeAggregation(accounts)
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(hour)
ORDER BY (source, lang, tag, hour)
SETTINGS index_granularity = 256;

-- The same per day, computed from the day's hours once the day has ended.
CREATE TABLE IF NOT EXISTS tag_day (
    day      DateTime,
    tag      String,
    source   String,
    lang     String,
    posts    UInt64,
    accounts AggregateFunction(uniqCombined(15), String),
    account_count UInt64 MATERIALIZED finalizeAggregation(accounts)
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(day)
ORDER BY (source, lang, tag, day)
SETTINGS index_granularity = 256;

-- Distinct posts and accounts over all tags, per hour and per day: a post
-- with two tags is one post here.
CREATE TABLE IF NOT EXISTS post_hour (
    hour     DateTime,
    source   String,
    lang     String,
    posts    UInt64,
    accounts AggregateFunction(uniqCombined(15), String)
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(hour)
ORDER BY (source, lang, hour);

CREATE TABLE IF NOT EXISTS post_day (
    day      DateTime,
    source   String,
    lang     String,
    posts    UInt64,
    accounts AggregateFunction(uniqCombined(15), String)
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(day)
ORDER BY (source, lang, day);

-- Posts per tag, spelling and day, so the display form (the spelling most
-- posts use) is a primary-key lookup of the tags a read returns.
CREATE TABLE IF NOT EXISTS tag_display_day (
    day     DateTime,
    tag     String,
    display String,
    posts   UInt64
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(day)
ORDER BY (tag, display, day)
SETTINGS index_granularity = 256;

-- One row per hour of a flushed batch, inserted after the batch's rows and
-- before its offsets are committed: an hour's rollup is up to date while
-- it has as many marks as when it was last recomputed.
CREATE TABLE IF NOT EXISTS rollup_dirty (
    hour      DateTime,
    marked_at DateTime
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(hour)
ORDER BY hour;

-- What the rollup worker finished: for a table and a day, the marks of
-- each of the day's 24 hours it had seen, the end of the hours it rolled
-- up, and the table partition's highest block number once it checked the
-- partition held its rows. A read trusts a day's rows only while that
-- block is still the partition's highest and no hour has gained marks.
CREATE TABLE IF NOT EXISTS rollup_done (
    table       String,
    day         DateTime,
    marks       Array(UInt64),
    hours_until DateTime,
    block       Int64,
    rows        UInt64,
    done_at     DateTime
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(day)
ORDER BY (table, day);

-- The days migrate copied from v1's mentions into mentions_v2, so an
-- interrupted upgrade resumes where it stopped.
CREATE TABLE IF NOT EXISTS migrate_progress (
    version UInt32,
    day     Date,
    rows    UInt64,
    done_at DateTime
) ENGINE = ReplacingMergeTree(done_at)
ORDER BY (version, day);
