-- One row per post x hashtag. ReplacingMergeTree on (tag, post_id) folds
-- the copies a replay or a redelivery inserts; nothing reads this table for
-- counts, it is the raw record (and what a rebuild of the buckets reads).
CREATE TABLE IF NOT EXISTS mentions (
    post_id           String,
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
ORDER BY (tag, post_id);

-- Distinct posts per tag, minute, source and language. uniqExact states are
-- sets of post ids, so inserting the same post twice leaves every count as
-- it was: counts are idempotent by post id.
CREATE TABLE IF NOT EXISTS tag_minute (
    minute DateTime,
    tag    String,
    source String,
    lang   String,
    posts  AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMMDD(minute)
ORDER BY (minute, tag, source, lang);

CREATE MATERIALIZED VIEW IF NOT EXISTS tag_minute_mv TO tag_minute AS
SELECT
    toStartOfMinute(created_at) AS minute,
    tag,
    source,
    lang,
    uniqExactState(post_id) AS posts
FROM mentions
GROUP BY minute, tag, source, lang;

-- Distinct posts per tag and spelling, so the display form is the spelling
-- most posts used.
CREATE TABLE IF NOT EXISTS tag_display (
    day     Date,
    tag     String,
    display String,
    posts   AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (tag, display, day);

CREATE MATERIALIZED VIEW IF NOT EXISTS tag_display_mv TO tag_display AS
SELECT
    toDate(created_at) AS day,
    tag,
    display,
    uniqExactState(post_id) AS posts
FROM mentions
GROUP BY day, tag, display;
