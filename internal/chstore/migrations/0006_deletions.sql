-- Posts deleted at their source (docs/exactly-once.md, "Deletions"). A
-- deleted post stays in mentions; every count excludes the post ids found
-- here for the hours it reads, and the flush that stores a deletion marks
-- the post's hour, so the rollups are recomputed without it. Keyed like
-- mentions by the post's own hour, so a read or a recompute takes the
-- deletions of its hours as a range; partitioned by the post's day, so
-- retention drops a day's deletions with its mentions, and a replay or a
-- rebuild of a day finds them still there.
CREATE TABLE IF NOT EXISTS deletions (
    post_id     String,
    created_at  DateTime,
    deleted_at  DateTime,
    inserted_at DateTime
) ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMMDD(created_at)
ORDER BY (toStartOfHour(created_at), post_id);

-- Tombstones whose post is not stored (yet): the delete came first, or
-- the post never reached tagpulse. Every count excludes them too. The
-- rollup worker looks their posts up in posts each round; one it finds
-- gets its row in deletions (dated, marked) and a newer row here with
-- resolved = 1 (argMax on inserted_at). Kept for 7 days of deleted_at
-- (chstore.PendingDeletionDays), partitioned by that day.
CREATE TABLE IF NOT EXISTS deletions_pending (
    post_id     String,
    deleted_at  DateTime,
    resolved    UInt8,
    inserted_at DateTime
) ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMMDD(deleted_at)
ORDER BY post_id;
