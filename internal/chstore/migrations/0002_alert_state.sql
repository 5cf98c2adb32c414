-- Claims and sends of alerts (internal/alert, docs/alerts.md). A replica
-- about to send an alert for (rule, tag) inserts a claim (sent = 0), waits,
-- and sends only if its claim is the earliest one of the round; the
-- replica that sent then inserts the same row with sent = 1, which starts
-- the cooldown. ReplacingMergeTree folds a row inserted twice. The table
-- holds one or two rows per replica and alert sent, so it stays small.
CREATE TABLE IF NOT EXISTS alert_state (
    rule       String,
    tag        String,
    claimed_at DateTime,
    claimant   String,
    sent       UInt8
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(claimed_at)
ORDER BY (rule, tag, claimed_at, claimant, sent);
