package aggregatecli

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestTagsCommands hides a tag with the CLI, sees it leave top and come
// back after unhide.
func TestTagsCommands(t *testing.T) {
	run, at := storyCLI(t)
	topTags := func(t *testing.T) []string {
		var got []struct{ Tag string }
		if err := json.Unmarshal([]byte(run(t, "top", "--window", "1h", "--json", "--at", at)), &got); err != nil {
			t.Fatal(err)
		}
		var tags []string
		for _, g := range got {
			tags = append(tags, g.Tag)
		}
		return tags
	}
	if got := strings.Join(topTags(t), " "); got != "nif2025 nato otan" {
		t.Fatalf("top = %s, want nif2025 nato otan", got)
	}
	if out := run(t, "tags", "hide", "#NATO", "--reason", "brand's own tag", "--by", "tester"); out != "hidden: #nato\n" {
		t.Errorf("tags hide printed %q", out)
	}
	if got := strings.Join(topTags(t), " "); got != "nif2025 otan" {
		t.Errorf("top with nato hidden = %s, want nif2025 otan", got)
	}
	list := run(t, "tags", "list")
	if !strings.Contains(list, "#nato") || !strings.Contains(list, "brand's own tag") || !strings.Contains(list, "tester") {
		t.Errorf("tags list = %q, want nato with its reason and who", list)
	}
	if got := run(t, "tags", "list", "--csv"); !strings.HasPrefix(got, "tag,at,by,reason\nnato,") || !strings.HasSuffix(got, ",tester,brand's own tag\n") {
		t.Errorf("tags list --csv = %q, want a header and nato's row", got)
	}
	run(t, "tags", "unhide", "nato")
	if got := run(t, "tags", "list", "--json"); strings.TrimSpace(got) != "[]" {
		t.Errorf("tags list --json after unhide = %q, want []", got)
	}
	if got := strings.Join(topTags(t), " "); got != "nif2025 nato otan" {
		t.Errorf("top after unhide = %s, want nif2025 nato otan", got)
	}
}
