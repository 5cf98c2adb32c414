-- Tags an operator keeps out of top and trending (`aggregate tags hide`).
-- Every hide or unhide inserts a row; the row with the greatest version
-- (nanoseconds since 1970 when it was written) is the tag's state, read
-- with argMax so that no reader depends on a merge having happened.
-- Hiding changes no count: mentions and tag_minute are left as they are.
CREATE TABLE IF NOT EXISTS hidden_tags (
    tag     String,
    hidden  UInt8,
    reason  String,
    set_by  String,
    set_at  DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY tag;
