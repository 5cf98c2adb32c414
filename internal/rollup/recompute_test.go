package rollup

import "testing"

// TestRecomputeSettings checks that a recompute asks for one-level
// aggregation in large blocks on servers older than 20 only, and bounds
// its time everywhere.
func TestRecomputeSettings(t *testing.T) {
	for _, c := range []struct {
		major    uint64
		oneLevel bool
	}{
		{18, true},
		{19, true},
		{20, false},
		{26, false},
	} {
		s := recomputeSettings(c.major)
		if s["max_execution_time"] != int(recomputeTimeout.Seconds()) {
			t.Errorf("version %d: max_execution_time %v, want %d", c.major, s["max_execution_time"], int(recomputeTimeout.Seconds()))
		}
		_, got := s["group_by_two_level_threshold"]
		if got != c.oneLevel {
			t.Errorf("version %d: one-level aggregation set %v, want %v (settings %v)", c.major, got, c.oneLevel, s)
		}
		if c.oneLevel && (s["group_by_two_level_threshold_bytes"] != 0 || s["max_block_size"] != 1<<20) {
			t.Errorf("version %d: settings %v, want no two-level threshold in bytes and blocks of 1Mi rows", c.major, s)
		}
	}
}
