package topic

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Topic is a topic and its tags, in order; Members says who added each tag
// and when (Show only).
type Topic struct {
	Name    string   `json:"topic"`
	Tags    []string `json:"tags"`
	Members []Member `json:"members,omitempty"`
}

// Member is one tag of a topic, with who added it and when.
type Member struct {
	Tag     string    `json:"tag"`
	AddedBy string    `json:"added_by"`
	AddedAt time.Time `json:"added_at"`
}

// Change is one tag added to or removed from a topic by an edit.
type Change struct {
	Topic string `json:"topic"`
	Tag   string `json:"tag"`
	Added bool   `json:"added"`
}

// Store reads and edits the topics of a tagpulse database.
type Store struct {
	conn    driver.Conn
	markAll func(context.Context, driver.Conn) error
	now     func() time.Time
}

// NewStore returns a Store on conn's database. markAll is
// rollup.MarkTopics: it marks every stored hour so the rollup worker
// recomputes the topic tiers after an edit. It is a parameter, not a call,
// because package rollup reads the definitions this package keeps
// (ReadMembers).
func NewStore(conn driver.Conn, markAll func(context.Context, driver.Conn) error) *Store {
	return &Store{conn: conn, markAll: markAll, now: time.Now}
}

// membersSQL is the subquery of the tags each topic has now: each (topic,
// tag)'s state is its latest row, whether or not ClickHouse has merged the
// older ones away.
const membersSQL = `SELECT topic, tag, argMax(added_by, version) AS by, toUInt32(argMax(added_at, version)) AS at
FROM topics GROUP BY topic, tag HAVING argMax(member, version) = 1`

// Add adds tags to topic (creating it) and returns the tags that were not
// members yet, canonical. Adding no new tag changes nothing.
func (s *Store) Add(ctx context.Context, topic, by string, tags ...string) ([]string, error) {
	return s.edit(ctx, topic, by, tags, true)
}

// Remove removes tags from topic and returns those that were members. A
// topic whose last tag is removed no longer exists.
func (s *Store) Remove(ctx context.Context, topic, by string, tags ...string) ([]string, error) {
	return s.edit(ctx, topic, by, tags, false)
}

// Delete removes every tag of topic and returns them.
func (s *Store) Delete(ctx context.Context, topic, by string) ([]string, error) {
	if err := CheckName(topic); err != nil {
		return nil, err
	}
	t, err := s.Show(ctx, topic)
	if err != nil {
		return nil, err
	}
	return s.edit(ctx, topic, by, t.Tags, false)
}

func (s *Store) edit(ctx context.Context, topic, by string, tags []string, add bool) ([]string, error) {
	if err := CheckName(topic); err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, invalid("no tag given for topic %s", topic)
	}
	tags, err := CanonicalTags(tags)
	if err != nil {
		return nil, err
	}
	current, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var have []string
	for _, t := range current {
		if t.Name == topic {
			have = t.Tags
		}
	}
	var changes []Change
	for _, tag := range tags {
		if slices.Contains(have, tag) != add {
			changes = append(changes, Change{Topic: topic, Tag: tag, Added: add})
		}
	}
	if add && len(have)+len(changes) > MaxTags {
		return nil, invalid("topic %s would have %d tags, at most %d", topic, len(have)+len(changes), MaxTags)
	}
	if err := s.apply(ctx, changes, by); err != nil {
		return nil, err
	}
	out := make([]string, len(changes))
	for i, c := range changes {
		out[i] = c.Tag
	}
	return out, nil
}

// apply records changes, then marks every stored hour, so the rollup
// recomputes the topic tiers with the new definitions. The rows come
// first: a worker that reads the marks after them reads the new
// definitions too (rollup.Worker.RecomputeDays reads marks, then Members).
func (s *Store) apply(ctx context.Context, changes []Change, by string) error {
	if len(changes) == 0 {
		return nil
	}
	at := s.now().UTC()
	// A batch, not INSERT … VALUES with bound values: the native protocol
	// of ClickHouse 18.16 sends no answer to the latter.
	batch, err := s.conn.PrepareBatch(ctx, `INSERT INTO topics (topic, tag, member, added_by, added_at, version)`)
	if err != nil {
		return fmt.Errorf("recording %d topic changes: %w", len(changes), err)
	}
	for _, c := range changes {
		var member uint8
		if c.Added {
			member = 1
		}
		if err := batch.Append(c.Topic, c.Tag, member, by, at.Truncate(time.Second), uint64(at.UnixNano())); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("recording topic %s tag %s: %w", c.Topic, c.Tag, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("recording %d topic changes: %w", len(changes), err)
	}
	if err := s.markAll(ctx, s.conn); err != nil {
		return fmt.Errorf("topics changed, but marking history for recount failed (retry the edit): %w", err)
	}
	return nil
}

// List returns every topic with its tags, by name.
func (s *Store) List(ctx context.Context) ([]Topic, error) {
	all, err := s.read(ctx, "")
	if err != nil {
		return nil, err
	}
	for i := range all {
		all[i].Members = nil
	}
	return all, nil
}

// Show returns topic with its members; ErrNotFound when it has no tag.
func (s *Store) Show(ctx context.Context, topic string) (Topic, error) {
	if err := CheckName(topic); err != nil {
		return Topic{}, err
	}
	all, err := s.read(ctx, topic)
	if err != nil {
		return Topic{}, err
	}
	if len(all) == 0 {
		return Topic{}, fmt.Errorf("%w: %s", ErrNotFound, topic)
	}
	return all[0], nil
}

// read returns the topics (only topic unless it is empty), by name, with
// members.
func (s *Store) read(ctx context.Context, topic string) ([]Topic, error) {
	rows, err := s.conn.Query(ctx, `SELECT topic, tag, by, at FROM (`+membersSQL+`)
WHERE @topic = '' OR topic = @topic ORDER BY topic, tag`, clickhouse.Named("topic", topic))
	if err != nil {
		return nil, fmt.Errorf("reading topics: %w", err)
	}
	defer rows.Close()
	out := []Topic{}
	for rows.Next() {
		var (
			name string
			m    Member
			at   uint32
		)
		if err := rows.Scan(&name, &m.Tag, &m.AddedBy, &at); err != nil {
			return nil, fmt.Errorf("reading topics: %w", err)
		}
		m.AddedAt = time.Unix(int64(at), 0).UTC()
		if n := len(out); n == 0 || out[n-1].Name != name {
			out = append(out, Topic{Name: name})
		}
		t := &out[len(out)-1]
		t.Tags = append(t.Tags, m.Tag)
		t.Members = append(t.Members, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading topics: %w", err)
	}
	return out, nil
}

// Load makes the stored topics equal defs (topic → tags, as Parse reads a
// file): it adds the tags defs has and the store has not, removes the ones
// the store has and defs has not (whole topics included), and returns the
// changes. Loading the same definitions twice changes nothing the second
// time, and costs no recount.
func (s *Store) Load(ctx context.Context, defs map[string][]string, by string) ([]Change, error) {
	want, err := canonicalDefs(defs)
	if err != nil {
		return nil, err
	}
	have, err := s.definitions(ctx)
	if err != nil {
		return nil, err
	}
	changes := diff(want, have)
	if err := s.apply(ctx, changes, by); err != nil {
		return nil, err
	}
	return changes, nil
}

// Set makes topic's tags exactly tags (at least one) and returns the
// changes: Load for one topic, leaving the others as they are.
func (s *Store) Set(ctx context.Context, topic, by string, tags []string) ([]Change, error) {
	want, err := canonicalDefs(map[string][]string{topic: tags})
	if err != nil {
		return nil, err
	}
	all, err := s.definitions(ctx)
	if err != nil {
		return nil, err
	}
	changes := diff(want, map[string][]string{topic: all[topic]})
	if err := s.apply(ctx, changes, by); err != nil {
		return nil, err
	}
	return changes, nil
}

// definitions returns the tags of every topic now.
func (s *Store) definitions(ctx context.Context) (map[string][]string, error) {
	current, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	have := map[string][]string{}
	for _, t := range current {
		have[t.Name] = t.Tags
	}
	return have, nil
}

// diff returns the changes that turn the topics have into want, by topic
// then tag, additions first.
func diff(want, have map[string][]string) []Change {
	var changes []Change
	names := make([]string, 0, len(want)+len(have))
	for n := range want {
		names = append(names, n)
	}
	for n := range have {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range slices.Compact(names) {
		for _, tag := range want[n] {
			if !slices.Contains(have[n], tag) {
				changes = append(changes, Change{Topic: n, Tag: tag, Added: true})
			}
		}
		for _, tag := range have[n] {
			if !slices.Contains(want[n], tag) {
				changes = append(changes, Change{Topic: n, Tag: tag})
			}
		}
	}
	return changes
}

// canonicalDefs checks the names of defs and returns them with canonical
// tags (CanonicalTags); a topic with no tag is an error.
func canonicalDefs(defs map[string][]string) (map[string][]string, error) {
	out := make(map[string][]string, len(defs))
	for name, tags := range defs {
		if err := CheckName(name); err != nil {
			return nil, err
		}
		ts, err := CanonicalTags(tags)
		if err != nil {
			return nil, fmt.Errorf("topic %s: %w", name, err)
		}
		if len(ts) == 0 {
			return nil, invalid("topic %s has no tag", name)
		}
		out[name] = ts
	}
	return out, nil
}
