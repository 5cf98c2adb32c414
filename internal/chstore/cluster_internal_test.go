package chstore

import (
	"slices"
	"testing"
)

// TestEveryTableHasAPlaceOnACluster: a migration that adds a table must say
// where it lives on a cluster, or MigrateCluster refuses to run.
func TestEveryTableHasAPlaceOnACluster(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	dropped := append([]string{"mentions_v2"}, v1Tables...) // gone once migration 4 has run
	for _, m := range ms {
		for _, stmt := range m.Statements {
			obj, ok, err := parseCreate(stmt)
			if err != nil {
				t.Fatal(err)
			}
			if !ok || obj.view || slices.Contains(dropped, obj.name) {
				continue
			}
			if _, ok := tablePlacements[obj.name]; !ok {
				t.Errorf("migration %s creates %s, which chstore.tablePlacements does not place on a cluster", m.Name, obj.name)
			}
		}
	}
}
