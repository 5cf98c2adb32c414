package trend

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"tagpulse/internal/topic"
)

// WriteCSV writes an answer of Top ([]Count), Trending ([]Trend), Series
// ([]Series) or Tag (TagPage), the hidden tags ([]HiddenTag), or the
// topics ([]topic.Topic, or one topic.Topic with its members), as CSV
// with a header row, the export format of `aggregate top|trending|series|
// tag|tags list|topics list|topics show --csv` and of ?format=csv in the
// API. A series becomes one row per point; a tag page, one row per listed
// post; topics, one row per tag.
//
// Text cells that a spreadsheet would read as a formula (starting with =,
// +, -, @, a tab or a carriage return) get a leading ' (see SafeCell);
// numbers are written as they are.
func WriteCSV(w io.Writer, v any) error {
	cw := csv.NewWriter(w)
	var rows [][]string
	switch v := v.(type) {
	case []Count:
		rows = append(rows, []string{"rank", keyHeader(len(v) > 0 && v[0].Topic != ""), "display", "count", "accounts"})
		for i, c := range v {
			rows = append(rows, []string{strconv.Itoa(i + 1), SafeCell(c.Tag + c.Topic), SafeCell(c.Display), u(c.Count), u(c.Accounts)})
		}
	case []Trend:
		rows = append(rows, []string{"rank", keyHeader(len(v) > 0 && v[0].Topic != ""), "display", "count", "accounts", "by", "expected", "score", "history_windows", "enough_history",
			"top_account_share", "top_instance_share", "concentrated", "bot_posts"})
		for i, t := range v {
			rows = append(rows, []string{strconv.Itoa(i + 1), SafeCell(t.Tag + t.Topic), SafeCell(t.Display), u(t.Count), u(t.Accounts), string(t.By),
				f(t.Expected), f(t.Score), strconv.Itoa(t.HistoryWindows), strconv.FormatBool(t.EnoughHistory),
				f(t.TopAccountShare), f(t.TopInstanceShare), strconv.FormatBool(t.Concentrated), u(t.BotPosts)})
		}
	case []Series:
		rows = append(rows, []string{keyHeader(len(v) > 0 && v[0].Topic != ""), "display", "hidden", "time", "end", "count", "accounts"})
		for _, s := range v {
			for _, p := range s.Points {
				rows = append(rows, []string{SafeCell(s.Tag + s.Topic), SafeCell(s.Display), strconv.FormatBool(s.Hidden),
					p.Time.UTC().Format(time.RFC3339), p.End.UTC().Format(time.RFC3339), u(p.Count), u(p.Accounts)})
			}
		}
	case TagPage:
		rows = append(rows, []string{"tag", "post_id", "created_at", "source", "lang", "author", "url", "excerpt"})
		for _, p := range v.Posts {
			rows = append(rows, []string{SafeCell(v.Tag), SafeCell(p.ID), p.CreatedAt.UTC().Format(time.RFC3339), SafeCell(p.Source), SafeCell(p.Lang),
				SafeCell(p.Author), SafeCell(p.URL), SafeCell(p.Excerpt)})
		}
	case []HiddenTag:
		rows = append(rows, []string{"tag", "at", "by", "reason"})
		for _, h := range v {
			rows = append(rows, []string{SafeCell(h.Tag), h.At.UTC().Format(time.RFC3339), SafeCell(h.By), SafeCell(h.Reason)})
		}
	case []topic.Topic:
		rows = append(rows, []string{"topic", "tag"})
		for _, t := range v {
			for _, tag := range t.Tags {
				rows = append(rows, []string{SafeCell(t.Name), SafeCell(tag)})
			}
		}
	case topic.Topic:
		rows = append(rows, []string{"topic", "tag", "added_at", "added_by"})
		for _, m := range v.Members {
			rows = append(rows, []string{SafeCell(v.Name), SafeCell(m.Tag), m.AddedAt.UTC().Format(time.RFC3339), SafeCell(m.AddedBy)})
		}
	default:
		return fmt.Errorf("writing CSV: no CSV form for %T", v)
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	return nil
}

// keyHeader names the column of what a row counts: a tag, or a topic (a
// row has one or the other).
func keyHeader(topics bool) string {
	if topics {
		return "topic"
	}
	return "tag"
}

// SafeCell returns s with a leading ' when a spreadsheet opening the CSV
// would take it for a formula (CSV injection): when it starts with =, +,
// -, @, a tab or a carriage return. Other text is returned unchanged.
func SafeCell(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

func u(n uint64) string  { return strconv.FormatUint(n, 10) }
func f(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
