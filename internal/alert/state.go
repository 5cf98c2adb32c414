package alert

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Key names the alert of one rule for one tag.
type Key struct {
	Rule, Tag string
}

// State is the record of claims and sends in the ClickHouse table
// alert_state (migration 0002), shared by every replica and every restart.
//
// The protocol, per alert about to be sent (docs/alerts.md):
//
//  1. LastSent: the time of the last claim that was sent; within the
//     cooldown, nothing more is done.
//  2. Claim: insert (rule, tag, claimed_at = now, claimant = me, sent = 0).
//  3. Wait the settle delay, then Winner: the earliest claim (by
//     claimed_at, then claimant) at or after both the end of the last
//     cooldown and now minus the claim horizon. Only that claimant sends.
//  4. MarkSent: the winner, having sent, inserts its claim again with
//     sent = 1, which starts the next cooldown.
//
// Why replicas agree: a claim is inserted right after its time is taken,
// so every claim stamped at or before mine is visible once the settle
// delay (longer than an insert plus the clocks' skew plus the second that
// DateTime truncates) has passed since mine. Every replica then sees the
// same earliest claim. Claims later than mine may be missing from my read,
// but they cannot be earlier than mine, so they do not change the winner.
type State struct {
	conn     driver.Conn
	claimant string
}

// NewState returns the alert state in conn's database. Its claimant
// identity is the host name, the process id and random bits, different for
// every process and every restart.
func NewState(conn driver.Conn) *State {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &State{conn: conn, claimant: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))}
}

// Claimant is the identity this State claims under.
func (s *State) Claimant() string { return s.claimant }

// LastSent returns the claim time of the last alert sent for k, and false
// when none was.
func (s *State) LastSent(ctx context.Context, k Key) (time.Time, bool, error) {
	var n uint64
	var last time.Time
	err := s.conn.QueryRow(ctx, `SELECT count(), max(claimed_at) FROM alert_state
WHERE rule = ? AND tag = ? AND sent = 1`, k.Rule, k.Tag).Scan(&n, &last)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading the last alert sent for rule %s, tag %s: %w", k.Rule, k.Tag, err)
	}
	return last, n > 0, nil
}

// Claim records that this process means to send the alerts of keys, at
// time at (truncated to the second), in one insert.
func (s *State) Claim(ctx context.Context, keys []Key, at time.Time) error {
	return s.insert(ctx, keys, at, 0, "claiming alerts")
}

// MarkSent records that this process sent the alert of k it claimed at at.
func (s *State) MarkSent(ctx context.Context, k Key, at time.Time) error {
	return s.insert(ctx, []Key{k}, at, 1, "recording an alert sent")
}

func (s *State) insert(ctx context.Context, keys []Key, at time.Time, sent uint8, doing string) error {
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO alert_state (rule, tag, claimed_at, claimant, sent)")
	if err != nil {
		return fmt.Errorf("%s: preparing insert into alert_state: %w", doing, err)
	}
	defer batch.Abort()
	at = at.Truncate(time.Second).UTC()
	for _, k := range keys {
		if err := batch.Append(k.Rule, k.Tag, at, s.claimant, sent); err != nil {
			return fmt.Errorf("%s: %w", doing, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("%s: insert into alert_state: %w", doing, err)
	}
	return nil
}

// Winner reports whether this process holds the earliest claim for k made
// at or after since, and so is the one to send.
func (s *State) Winner(ctx context.Context, k Key, since time.Time) (bool, error) {
	var claimant string
	err := s.conn.QueryRow(ctx, `SELECT claimant FROM alert_state
WHERE rule = ? AND tag = ? AND sent = 0 AND claimed_at >= ?
ORDER BY claimed_at, claimant LIMIT 1`, k.Rule, k.Tag, since.Truncate(time.Second).UTC()).Scan(&claimant)
	if err != nil {
		return false, fmt.Errorf("reading the claims on rule %s, tag %s: %w", k.Rule, k.Tag, err)
	}
	return claimant == s.claimant, nil
}
