package chstore

import (
	"reflect"
	"testing"
	"time"
)

func TestMentionsColumns(t *testing.T) {
	at := time.Date(2025, 11, 5, 9, 0, 0, 0, time.UTC)
	rows := []Mention{
		{PostID: "p1", Tag: "otan", Display: "OTAN", CreatedAt: at, Source: "rss-1", Lang: "fr", ExtractorVersion: 3, KafkaPartition: 2, KafkaOffset: 41, InsertedAt: at.Add(time.Second)},
		{PostID: "p1", Tag: "drones", Display: "Drones", CreatedAt: at, Source: "rss-1", Lang: "fr", ExtractorVersion: 3, KafkaPartition: 2, KafkaOffset: 41, InsertedAt: at.Add(time.Second)},
		{PostID: "p2", Tag: "rearmement", Display: "Réarmement", CreatedAt: at.Add(time.Minute), Source: "file", ExtractorVersion: 3, KafkaPartition: 0, KafkaOffset: 7, InsertedAt: at},
	}
	var m Mentions
	for _, r := range rows {
		m.Append(r)
	}
	if m.Len() != len(rows) {
		t.Fatalf("Len() = %d, want %d", m.Len(), len(rows))
	}
	for i, want := range rows {
		if got := m.Row(i); !reflect.DeepEqual(got, want) {
			t.Errorf("Row(%d) = %+v, want %+v", i, got, want)
		}
	}
	tags := m.Tag
	m.Reset()
	if m.Len() != 0 || cap(m.Tag) != cap(tags) {
		t.Fatalf("after Reset: Len() = %d, cap %d (was %d)", m.Len(), cap(m.Tag), cap(tags))
	}
	for i, tag := range tags[:len(rows)] {
		if tag != "" {
			t.Errorf("after Reset the array still holds tag %d, %q", i, tag)
		}
	}
	m.Append(rows[2])
	if got := m.Row(0); !reflect.DeepEqual(got, rows[2]) {
		t.Errorf("after Reset and Append: %+v", got)
	}
}
