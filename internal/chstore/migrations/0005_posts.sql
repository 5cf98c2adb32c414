-- The posts behind the counts (docs/schema-v2.md, "Posts"): what a tag's
-- page lists. One row per post with at least one hashtag, ordered by id,
-- so that looking a post up by id (a tag page's posts, a tombstone without
-- the post's time) reads one range per day partition; copies of a post (a
-- retry, a replay) fold on merge, and reads take the latest with LIMIT 1
-- BY id. The text is an excerpt of at most 280 characters; author, url and
-- excerpt are empty for a post whose author does not allow indexing, or
-- that was deleted. Partitioned by day like mentions, so retention drops
-- its days with theirs.
CREATE TABLE IF NOT EXISTS posts (
    id          String,
    created_at  DateTime,
    source      String,
    lang        String,
    author      String,
    url         String,
    excerpt     String,
    inserted_at DateTime
) ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMMDD(created_at)
ORDER BY id;
