package topic

import "testing"

func TestMembersTogether(t *testing.T) {
	m := Members{Topics: []string{"eu", "eu", "nato", "nato", "nato"}, Tags: []string{"eu", "ue", "nato", "navo", "otan"}}
	tests := []struct {
		a, b string
		want bool
	}{
		{"nato", "otan", true},
		{"otan", "nato", true},
		{"eu", "ue", true},
		{"nato", "eu", false},
		{"otan", "drones", false},
		{"drones", "ai", false},
	}
	for _, tt := range tests {
		if got := m.Together(tt.a, tt.b); got != tt.want {
			t.Errorf("Together(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
