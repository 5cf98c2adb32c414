package trend

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tagpulse/internal/topic"
)

func TestWriteCSV(t *testing.T) {
	t0 := time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"top", []Count{
			{Tag: "nato", Display: "NATO", Count: 10, Accounts: 7},
			{Tag: "a,b", Display: `say "hi"`, Count: 2},
			{Tag: "=cmd", Display: "=HYPERLINK(\"http://x\")", Count: 1},
			{Tag: "plus", Display: "+1", Count: 1},
			{Tag: "minus", Display: "-1", Count: 1},
			{Tag: "at", Display: "@SUM(A1)", Count: 1},
		}},
		{"top_empty", []Count{}},
		{"trending", []Trend{{Tag: "nif2025", Display: "NIF2025", Count: 40, Accounts: 31, By: ByAccounts, Expected: 1, Score: 39.5, HistoryWindows: 24, EnoughHistory: true}}},
		{"series", []Series{{Tag: "nato", Display: "NATO", Hidden: true, Points: []Point{
			{Time: t0, End: t0.Add(time.Hour), Count: 3, Accounts: 2},
			{Time: t0.Add(time.Hour), End: t0.Add(2 * time.Hour), Count: 0},
		}}}},
		{"tag", TagPage{Tag: "otan", Display: "OTAN", Count: 2, Posts: []TagPost{
			{ID: "masto:1", CreatedAt: t0, Source: "mastodon", Lang: "fr", Author: "@a@social.example", URL: "https://social.example/1", Excerpt: "Le forum #OTAN, \"industrie\"\nsuite"},
			{ID: "masto:2", CreatedAt: t0.Add(-time.Minute), Source: "mastodon", Author: "=cmd()", Excerpt: "-2 drones"},
		}}},
		{"hidden", []HiddenTag{{Tag: "nato", Reason: "brand's own, \"generic\"", By: "tester", At: t0}, {Tag: "spam", Reason: "-flood", By: "@ops", At: t0.Add(time.Minute)}}},
		{"topics", []topic.Topic{{Name: "nato", Tags: []string{"nato", "otan"}}, {Name: "eu", Tags: []string{"eu"}}}},
		{"topic_show", topic.Topic{Name: "nato", Tags: []string{"nato", "otan"}, Members: []topic.Member{
			{Tag: "nato", AddedBy: "alice", AddedAt: t0}, {Tag: "otan", AddedBy: "=cmd()", AddedAt: t0.Add(time.Hour)},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteCSV(&b, tc.v); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "csv_"+tc.name+".csv")
			if os.Getenv("TAGPULSE_UPDATE_GOLDEN") == "1" {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != string(want) {
				t.Errorf("CSV =\n%s\nwant (%s)\n%s", b.String(), golden, want)
			}
			// Whatever the cells hold, a CSV reader gets the rows back.
			if _, err := csv.NewReader(&b).ReadAll(); err != nil {
				t.Errorf("reading the CSV back: %v", err)
			}
		})
	}
	if err := WriteCSV(&bytes.Buffer{}, 42); err == nil {
		t.Error("WriteCSV(42) = nil, want an error")
	}
}
