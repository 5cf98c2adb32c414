package trend

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// HiddenTag is a tag an operator keeps out of top and trending, with why,
// who hid it and when. Its posts still count: only the two lists leave it
// out.
type HiddenTag struct {
	Tag    string    `json:"tag"`
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// hiddenSQL is the subquery of the tags hidden now: each tag's state is
// its latest row, whether or not ClickHouse has merged the older ones away.
const hiddenSQL = `SELECT tag FROM hidden_tags GROUP BY tag HAVING argMax(hidden, version) = 1`

// notHiddenSQL is the condition that keeps hidden tags out of a list.
const notHiddenSQL = ` AND tag GLOBAL NOT IN (` + hiddenSQL + `)`

// MaxReasonLen bounds the reason given for hiding a tag.
const MaxReasonLen = 500

// Hide keeps tag out of top and trending from now on; reason and by are
// kept with it. Hiding a hidden tag again replaces its reason.
func (s *Store) Hide(ctx context.Context, tag, reason, by string, at time.Time) (string, error) {
	if len(reason) > MaxReasonLen {
		return "", invalid("reason must be at most %d bytes", MaxReasonLen)
	}
	return s.setHidden(ctx, tag, true, reason, by, at)
}

// Unhide lets tag back into top and trending. Unhiding a tag that is not
// hidden is not an error.
func (s *Store) Unhide(ctx context.Context, tag, by string, at time.Time) (string, error) {
	return s.setHidden(ctx, tag, false, "", by, at)
}

// setHidden records the new state of tag, normalised as the counts store
// it, and returns the normalised tag.
func (s *Store) setHidden(ctx context.Context, tag string, hidden bool, reason, by string, at time.Time) (string, error) {
	tags, err := NormaliseTags([]string{tag})
	if err != nil {
		return "", err
	}
	var flag uint8
	if hidden {
		flag = 1
	}
	// A batch, not INSERT … VALUES with bound values: the native protocol
	// of ClickHouse 18.16 sends no answer to the latter.
	batch, err := s.conn.PrepareBatch(ctx, `INSERT INTO hidden_tags (tag, hidden, reason, set_by, set_at, version)`)
	if err != nil {
		return "", fmt.Errorf("recording hidden tag %s: %w", tags[0], MissingSchema(err))
	}
	if err := batch.Append(tags[0], flag, reason, by, at.UTC().Truncate(time.Second), uint64(at.UnixNano())); err != nil {
		_ = batch.Abort()
		return "", fmt.Errorf("recording hidden tag %s: %w", tags[0], err)
	}
	if err := batch.Send(); err != nil {
		return "", fmt.Errorf("recording hidden tag %s: %w", tags[0], err)
	}
	return tags[0], nil
}

// Hidden returns the tags hidden now, in tag order.
func (s *Store) Hidden(ctx context.Context) ([]HiddenTag, error) {
	rows, err := s.query(ctx, "hidden tags", `SELECT tag, argMax(reason, version), argMax(set_by, version), toUInt32(argMax(set_at, version))
FROM hidden_tags
GROUP BY tag
HAVING argMax(hidden, version) = 1
ORDER BY tag`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []HiddenTag{}
	for rows.Next() {
		var (
			h  HiddenTag
			at uint32
		)
		if err := rows.Scan(&h.Tag, &h.Reason, &h.By, &at); err != nil {
			return nil, fmt.Errorf("reading hidden tags: %w", err)
		}
		h.At = time.Unix(int64(at), 0).UTC()
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading hidden tags: %w", err)
	}
	return out, nil
}

// hiddenAmong returns which of tags are hidden now.
func (s *Store) hiddenAmong(ctx context.Context, tags []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(tags) == 0 {
		return out, nil
	}
	rows, err := s.query(ctx, "hidden tags", hiddenSQL+` AND has(@tags, tag)`, clickhouse.Named("tags", tags))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var tag string
		if err := rows.Scan(&tag); err != nil {
			return nil, fmt.Errorf("reading hidden tags: %w", err)
		}
		out[tag] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading hidden tags: %w", err)
	}
	return out, nil
}
