package topic

import (
	"context"
	"fmt"
	"slices"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Members is the topics' definitions as the counts use them: pair i says
// that Tags[i] belongs to Topics[i], in (topic, tag) order. The rollup
// worker and the reads bind the two arrays into their SQL (TopicsOfTagSQL).
type Members struct {
	Topics, Tags []string
}

// ReadMembers reads the definitions of every topic now.
func ReadMembers(ctx context.Context, conn driver.Conn) (Members, error) {
	rows, err := conn.Query(ctx, "SELECT topic, tag FROM ("+membersSQL+") ORDER BY topic, tag")
	if err != nil {
		return Members{}, fmt.Errorf("reading topic definitions: %w", err)
	}
	defer rows.Close()
	var m Members
	for rows.Next() {
		var topic, tag string
		if err := rows.Scan(&topic, &tag); err != nil {
			return Members{}, fmt.Errorf("reading topic definitions: %w", err)
		}
		m.Topics, m.Tags = append(m.Topics, topic), append(m.Tags, tag)
	}
	if err := rows.Err(); err != nil {
		return Members{}, fmt.Errorf("reading topic definitions: %w", err)
	}
	return m, nil
}

// Empty reports whether no topic has a tag.
func (m Members) Empty() bool { return len(m.Tags) == 0 }

// Of returns the pairs of the named topics only (all of them when names is
// nil).
func (m Members) Of(names []string) Members {
	if names == nil {
		return m
	}
	var out Members
	for i, t := range m.Topics {
		if slices.Contains(names, t) {
			out.Topics, out.Tags = append(out.Topics, t), append(out.Tags, m.Tags[i])
		}
	}
	return out
}

// TagsOf returns the tags of topic, in order.
func (m Members) TagsOf(topic string) []string {
	var out []string
	for i, t := range m.Topics {
		if t == topic {
			out = append(out, m.Tags[i])
		}
	}
	return out
}

// TopicsOf returns the topics tag belongs to, in order.
func (m Members) TopicsOf(tag string) []string {
	var out []string
	for i, t := range m.Tags {
		if t == tag {
			out = append(out, m.Topics[i])
		}
	}
	return out
}

// AllTags returns every tag of some topic, sorted, once each.
func (m Members) AllTags() []string {
	out := slices.Clone(m.Tags)
	slices.Sort(out)
	return slices.Compact(out)
}

// TopicsOfTagSQL is the SQL expression, over a row of mentions, of the
// topics its tag belongs to, one row each (arrayJoin), given the
// placeholders of the bound arrays Members.Tags and Members.Topics. Rows
// whose tag is in no topic vanish, so group by it with uniqExact(post_id)
// and a post carrying two tags of a topic counts once. It is the one place
// the counts map tags to topics, in the rollup and in the reads alike.
func TopicsOfTagSQL(tags, topics string) string {
	return "arrayJoin(arrayFilter((tp, tg) -> tg = tag, " + topics + ", " + tags + "))"
}

// Together reports whether tags a and b belong to one topic: a pair that
// `aggregate topics suggest` need not propose again.
func (m Members) Together(a, b string) bool {
	for _, t := range m.TopicsOf(a) {
		if slices.Contains(m.TagsOf(t), b) {
			return true
		}
	}
	return false
}
