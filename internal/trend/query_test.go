package trend

import (
	"reflect"
	"testing"
)

func TestNormaliseTags(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string
		wantErr bool
	}{
		{"canonical keys pass", []string{"otan", "nif2025"}, []string{"otan", "nif2025"}, false},
		{"spellings fold to the key", []string{"#Réarmement", "RÉARMEMENT", "＃ＯＴＡＮ"}, []string{"rearmement", "otan"}, false},
		{"duplicates go", []string{"NIF2025", "#nif2025"}, []string{"nif2025"}, false},
		{"empty", []string{"#"}, nil, true},
		{"none", nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormaliseTags(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
