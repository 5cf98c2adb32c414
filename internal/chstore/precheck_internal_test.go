package chstore

import (
	"reflect"
	"testing"
)

func TestParseCreate(t *testing.T) {
	tests := []struct {
		stmt string
		want createdObject
		ok   bool
	}{
		{"CREATE TABLE IF NOT EXISTS t (\n  a String,\n  b AggregateFunction(uniqExact, String),\n  c DateTime DEFAULT now() CODEC(Delta),\n  INDEX i a TYPE minmax GRANULARITY 1\n) ENGINE = MergeTree ORDER BY a",
			createdObject{name: "t", columns: []column{{"a", "String"}, {"b", "AggregateFunction(uniqExact, String)"}, {"c", "DateTime"}}}, true},
		{"create table if not exists `q` (x Decimal(10,2) COMMENT 'money')", createdObject{name: "q", columns: []column{{"x", "Decimal(10,2)"}}}, true},
		{"CREATE MATERIALIZED VIEW IF NOT EXISTS v TO t AS SELECT 1", createdObject{name: "v", view: true}, true},
		{"ALTER TABLE t ADD COLUMN IF NOT EXISTS d String", createdObject{}, false},
	}
	for _, tt := range tests {
		got, ok, err := parseCreate(tt.stmt)
		if err != nil || ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseCreate(%q) = %+v, %v, %v; want %+v, %v", tt.stmt, got, ok, err, tt.want, tt.ok)
		}
	}
	if !sameType("Decimal(10, 2)", "Decimal(10,2)") || sameType("String", "FixedString(8)") {
		t.Error("sameType")
	}
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		for _, stmt := range m.Statements {
			obj, ok, err := parseCreate(stmt)
			if err != nil || ok && !obj.view && len(obj.columns) == 0 {
				t.Errorf("migration %s: %q parsed as %+v, %v", m.Name, stmt, obj, err)
			}
		}
	}
}
