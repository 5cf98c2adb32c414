package topic_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"tagpulse/internal/chstore"
	"tagpulse/internal/rollup"
	"tagpulse/internal/testkit/stacktest"
	"tagpulse/internal/topic"
)

// marks counts the rows of topic_dirty.
func marks(t *testing.T, conn driver.Conn) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), "SELECT count() FROM topic_dirty").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStoreEditsListsAndLoads(t *testing.T) {
	t.Parallel()
	_, conn := stacktest.MigratedClickHouse(t)
	ctx := context.Background()
	at := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Hour)
	if err := chstore.InsertMentions(ctx, conn, []chstore.Mention{{PostID: "p1", Tag: "nato", Display: "NATO", CreatedAt: at, Source: "rss", Lang: "en", InsertedAt: at}}); err != nil {
		t.Fatal(err)
	}
	s := topic.NewStore(conn, rollup.MarkTopics)
	before := marks(t, conn)

	added, err := s.Add(ctx, "nato", "ops", "#NATO", "OTAN", "otan")
	if err != nil || !reflect.DeepEqual(added, []string{"nato", "otan"}) {
		t.Fatalf("Add = %v, %v; want [nato otan]", added, err)
	}
	if marks(t, conn) == before {
		t.Fatal("an edit marked no hour: the rollup would not recompute the topic tiers")
	}
	before = marks(t, conn)
	if added, err := s.Add(ctx, "nato", "ops", "nato"); err != nil || len(added) != 0 {
		t.Fatalf("adding a member again = %v, %v; want nothing added", added, err)
	}
	if marks(t, conn) != before {
		t.Fatal("an edit that changed nothing marked hours")
	}
	if _, err := s.Add(ctx, "eu", "ops", "eu", "ue", "nato"); err != nil {
		t.Fatal(err)
	}
	if removed, err := s.Remove(ctx, "eu", "ops", "NATO", "absent"); err != nil || !reflect.DeepEqual(removed, []string{"nato"}) {
		t.Fatalf("Remove = %v, %v; want [nato]", removed, err)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []topic.Topic{{Name: "eu", Tags: []string{"eu", "ue"}}, {Name: "nato", Tags: []string{"nato", "otan"}}}
	if !reflect.DeepEqual(list, want) {
		t.Fatalf("List = %+v, want %+v", list, want)
	}
	shown, err := s.Show(ctx, "nato")
	if err != nil || len(shown.Members) != 2 || shown.Members[0].AddedBy != "ops" {
		t.Fatalf("Show = %+v, %v; want two members added by ops", shown, err)
	}
	if _, err := s.Show(ctx, "absent"); !errors.Is(err, topic.ErrNotFound) {
		t.Fatalf("Show of an absent topic: %v, want ErrNotFound", err)
	}
	if _, err := s.Add(ctx, "Bad Name", "ops", "x"); !errors.Is(err, topic.ErrInvalid) {
		t.Fatalf("Add with a bad name: %v, want ErrInvalid", err)
	}

	// Load makes the store equal the definitions, and a second load of
	// the same ones changes nothing.
	defs := map[string][]string{"nato": {"nato", "navo"}, "ue": {"ue"}}
	changes, err := s.Load(ctx, defs, "git")
	if err != nil {
		t.Fatal(err)
	}
	wantChanges := []topic.Change{{Topic: "eu", Tag: "eu"}, {Topic: "eu", Tag: "ue"}, {Topic: "nato", Tag: "navo", Added: true},
		{Topic: "nato", Tag: "otan"}, {Topic: "ue", Tag: "ue", Added: true}}
	if !reflect.DeepEqual(changes, wantChanges) {
		t.Fatalf("Load = %+v, want %+v", changes, wantChanges)
	}
	if again, err := s.Load(ctx, defs, "git"); err != nil || len(again) != 0 {
		t.Fatalf("loading the same definitions again = %+v, %v; want no change", again, err)
	}
	// Set replaces one topic's tags and leaves the others.
	if changes, err := s.Set(ctx, "ue", "api", []string{"UE", "eu"}); err != nil || !reflect.DeepEqual(changes, []topic.Change{{Topic: "ue", Tag: "eu", Added: true}}) {
		t.Fatalf("Set = %+v, %v; want eu added to ue", changes, err)
	}
	if removed, err := s.Delete(ctx, "ue", "ops"); err != nil || !reflect.DeepEqual(removed, []string{"eu", "ue"}) {
		t.Fatalf("Delete = %v, %v", removed, err)
	}
	m, err := topic.ReadMembers(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if wantM := (topic.Members{Topics: []string{"nato", "nato"}, Tags: []string{"nato", "navo"}}); !reflect.DeepEqual(m, wantM) {
		t.Fatalf("ReadMembers = %+v, want %+v", m, wantM)
	}
}
