package topic_test

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"tagpulse/internal/topic"
)

func TestParseFile(t *testing.T) {
	defs, err := topic.ParseFile(filepath.Join("testdata", "topics.good.yml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"nato": {"nato", "navo", "otan"}, "eu": {"eu", "ue"}}
	if !reflect.DeepEqual(defs, want) {
		t.Fatalf("ParseFile = %v, want %v", defs, want)
	}
	bad, _ := filepath.Glob(filepath.Join("testdata", "*.bad.yml"))
	if len(bad) == 0 {
		t.Fatal("no bad files in testdata")
	}
	for _, path := range bad {
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, err := topic.ParseFile(path)
			if !errors.Is(err, topic.ErrInvalid) {
				t.Fatalf("ParseFile(%s) = %v, want an error matching ErrInvalid", path, err)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"nato", true},
		{"eu-2025_x", true},
		{"9", true},
		{"", false},
		{"NATO", false},
		{"-nato", false},
		{"na to", false},
		{"otan/x", false},
		{strings.Repeat("a", topic.MaxNameBytes), true},
		{strings.Repeat("a", topic.MaxNameBytes+1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := topic.CheckName(tc.name)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, topic.ErrInvalid)) {
				t.Fatalf("CheckName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
			}
		})
	}
}

func TestCanonicalTags(t *testing.T) {
	got, err := topic.CanonicalTags([]string{"#OTAN", "Ｎａｔｏ", "otan", "Réarmement"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"nato", "otan", "rearmement"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("CanonicalTags = %v, want %v", got, want)
	}
	if _, err := topic.CanonicalTags([]string{" # "}); !errors.Is(err, topic.ErrInvalid) {
		t.Fatalf("an empty tag: %v, want ErrInvalid", err)
	}
}
