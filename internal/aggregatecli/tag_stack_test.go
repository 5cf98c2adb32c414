package aggregatecli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tagpulse/internal/trend"
)

// TestTagCommand prints the page of the story's bursting tag as a table
// (compared with testdata/tag_nif2025.txt; TAGPULSE_UPDATE_GOLDEN=1
// rewrites it), as JSON and as CSV.
func TestTagCommand(t *testing.T) {
	runDSN, at := storyCLI(t)
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		return runDSN(t, append(args, "--at", at)...)
	}
	t.Run("table", func(t *testing.T) {
		got := run(t, "tag", "#NIF2025", "--window", "1h", "--posts", "3")
		golden := filepath.Join("testdata", "tag_nif2025.txt")
		if os.Getenv("TAGPULSE_UPDATE_GOLDEN") == "1" {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("aggregate tag printed:\n%s\nwant (%s):\n%s", got, golden, want)
		}
	})
	t.Run("json", func(t *testing.T) {
		var page trend.TagPage
		if err := json.Unmarshal([]byte(run(t, "tag", "nif2025", "--window", "24h", "--json")), &page); err != nil {
			t.Fatal(err)
		}
		// 40 posts in the last hour and 1 in each of the 23 before.
		if page.Tag != "nif2025" || page.Count != 63 || page.Step != "1h" || len(page.Points) != 48 || len(page.Posts) != trend.DefaultTagPosts {
			t.Errorf("page: tag %s, %d posts, step %s, %d points, %d listed", page.Tag, page.Count, page.Step, len(page.Points), len(page.Posts))
		}
		if page.RisingSince == nil {
			t.Error("the burst's page says it is not rising")
		}
	})
	t.Run("csv", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(run(t, "tag", "otan", "--posts", "2", "--csv")), "\n")
		if len(lines) != 3 || lines[0] != "tag,post_id,created_at,source,lang,author,url,excerpt" || !strings.HasPrefix(lines[1], "otan,file-otan-0-") {
			t.Errorf("CSV:\n%s", strings.Join(lines, "\n"))
		}
	})
	t.Run("a tag without posts", func(t *testing.T) {
		got := run(t, "tag", "nothere", "--json")
		var page trend.TagPage
		if err := json.Unmarshal([]byte(got), &page); err != nil {
			t.Fatal(err)
		}
		if page.Count != 0 || len(page.Posts) != 0 || page.CoTags == nil || page.Posts == nil {
			t.Errorf("page of an unused tag: %s", got)
		}
	})
}
