package aggregatecli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"tagpulse/internal/topic"
	"tagpulse/internal/trend"
)

// TestTopicsCommands loads topics from a file, lists and shows them, counts
// them with top --topics, trending --topics and series --topic, and edits
// them.
func TestTopicsCommands(t *testing.T) {
	run, at := storyCLI(t)
	file := filepath.Join("testdata", "topics.yml")
	if out := run(t, "topics", "load", file, "--by", "tester"); !strings.Contains(out, "2 topics, 3 changes") {
		t.Fatalf("topics load printed %q", out)
	}
	if out := run(t, "topics", "load", file); !strings.Contains(out, "2 topics, 0 changes") {
		t.Errorf("loading the same file again printed %q, want no change", out)
	}
	var list []topic.Topic
	if err := json.Unmarshal([]byte(run(t, "topics", "list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "alliance" || strings.Join(list[0].Tags, " ") != "nato otan" {
		t.Fatalf("topics list = %+v, want alliance (nato otan) and summit", list)
	}
	if out := run(t, "topics", "show", "alliance"); !strings.Contains(out, "#otan") || !strings.Contains(out, "tester") {
		t.Errorf("topics show = %q, want #otan added by tester", out)
	}
	if out := run(t, "topics", "list", "--csv"); !strings.HasPrefix(out, "topic,tag\nalliance,nato\nalliance,otan\n") {
		t.Errorf("topics list --csv = %q, want a header and a row per tag", out)
	}
	if out := run(t, "topics", "show", "alliance", "--csv"); !strings.HasPrefix(out, "topic,tag,added_at,added_by\nalliance,nato,") || !strings.Contains(out, ",tester\n") {
		t.Errorf("topics show --csv = %q, want a row per tag with who added it", out)
	}

	// In the story's last hour #NATO has 10 posts, #OTAN 2, #NIF2025 40.
	var top []trend.Count
	if err := json.Unmarshal([]byte(run(t, "top", "--topics", "--window", "1h", "--json", "--at", at)), &top); err != nil {
		t.Fatal(err)
	}
	if len(top) != 2 || top[0].Topic != "summit" || top[0].Count != 40 || top[1].Topic != "alliance" || top[1].Count != 12 ||
		len(top[1].Members) != 2 || top[1].Members[0] != (trend.TagCount{Tag: "nato", Count: 10}) {
		t.Fatalf("top --topics = %+v, want summit 40 and alliance 12 (nato 10, otan 2)", top)
	}
	if out := run(t, "top", "--topics", "--window", "1h", "--at", at); !strings.Contains(out, "TOPIC") || !strings.Contains(out, "#nato 10, #otan 2") {
		t.Errorf("top --topics table = %q, want a TOPIC column and each tag's posts", out)
	}
	if out := run(t, "trending", "--topics", "--window", "1h", "--at", at); !strings.Contains(out, "summit") {
		t.Errorf("trending --topics = %q, want the summit burst", out)
	}
	var series []trend.Series
	if err := json.Unmarshal([]byte(run(t, "series", "--topic", "alliance", "--window", "3h", "--step", "1h", "--json", "--at", at)), &series); err != nil {
		t.Fatal(err)
	}
	if len(series) != 1 || series[0].Topic != "alliance" || len(series[0].Points) != 3 || series[0].Points[1].Count != 12 {
		t.Fatalf("series --topic alliance = %+v, want 3 steps of 12 posts", series)
	}

	if out := run(t, "tag", "otan", "--at", at); !strings.Contains(out, "In topics: alliance") {
		t.Errorf("tag otan = %q, want it to name the topic alliance", out)
	}

	if out := run(t, "topics", "remove", "alliance", "otan"); !strings.Contains(out, "removed from alliance: #otan") {
		t.Errorf("topics remove printed %q", out)
	}
	if err := json.Unmarshal([]byte(run(t, "top", "--topics", "--window", "1h", "--json", "--at", at)), &top); err != nil {
		t.Fatal(err)
	}
	if len(top) != 2 || top[1].Count != 10 {
		t.Errorf("top --topics after removing otan = %+v, want alliance 10", top)
	}
	run(t, "topics", "remove", "summit", "--all")
	if out := run(t, "topics", "list"); strings.Contains(out, "summit") {
		t.Errorf("topics list after removing summit = %q", out)
	}
}
