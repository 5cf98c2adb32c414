package topicsuggest

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestOverlapMeasures(t *testing.T) {
	for _, tc := range []struct {
		name                                 string
		o                                    Overlap
		lift, expected, z, npmi, coefficient float64
	}{
		{"chance", Overlap{A: 100, B: 100, Both: 10, Total: 1000}, 1, 10, 0, 0, 0.1},
		{"always together", Overlap{A: 10, B: 10, Both: 10, Total: 1000}, 100, 0.1, (10 - 0.1) / math.Sqrt(0.1), 1, 1},
		{"every member has both", Overlap{A: 5, B: 5, Both: 5, Total: 5}, 1, 5, 0, 1, 1},
		{"never together", Overlap{A: 100, B: 100, Both: 0, Total: 1000}, 0, 10, -math.Sqrt(10), -1, 0},
		{"empty", Overlap{}, 0, 0, 0, -1, 0},
		{"asymmetric", Overlap{A: 1000, B: 10, Both: 10, Total: 10000}, 10, 1, 9, math.Log(10) / -math.Log(0.001), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, m := range []struct {
				name      string
				got, want float64
			}{
				{"lift", tc.o.Lift(), tc.lift}, {"expected", tc.o.Expected(), tc.expected}, {"z", tc.o.Z(), tc.z},
				{"npmi", tc.o.NPMI(), tc.npmi}, {"coefficient", tc.o.Coefficient(), tc.coefficient},
			} {
				if math.Abs(m.got-m.want) > 1e-9 {
					t.Errorf("%s of %+v = %g, want %g", m.name, tc.o, m.got, m.want)
				}
			}
		})
	}
}

// TestVerdicts reads testdata/verdicts.json: overlaps that must or must
// not be suggested under the default thresholds, with the score of those
// that are.
func TestVerdicts(t *testing.T) {
	data, err := os.ReadFile("testdata/verdicts.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name, Note      string
		Posts, Accounts Overlap
		Suggested       bool
		Score           float64
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatalf("reading testdata/verdicts.json: %v", err)
	}
	th := Thresholds{MinShared: DefaultMinShared, MinLift: DefaultMinLift, MinZ: MinZ, MinOverlap: MinOverlap}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			score, ok := th.Score(tc.Posts, tc.Accounts)
			if ok != tc.Suggested {
				t.Fatalf("suggested = %v, want %v (%s)", ok, tc.Suggested, tc.Note)
			}
			if ok && round(score) != tc.Score {
				t.Errorf("score = %.3f, want %.3f", score, tc.Score)
			}
		})
	}
}

func TestNewPairNamesTheLargerTagFirst(t *testing.T) {
	p := newPair("eu", "ue", Overlap{A: 60, B: 80, Both: 5, Total: 1000}, Overlap{A: 30, B: 47, Both: 30, Total: 300}, 0.5, 1)
	if p.A != "ue" || p.B != "eu" || p.PostsA != 80 || p.PostsB != 60 || p.AccountsA != 47 || p.AccountsB != 30 {
		t.Errorf("pair = %+v, want ue (80 posts, 47 accounts) before eu", p)
	}
	if p.AccountOverlap != 1 {
		t.Errorf("account overlap = %g, want 1: every eu account used ue", p.AccountOverlap)
	}
}

func TestRank(t *testing.T) {
	pairs := []Pair{
		{A: "c", B: "d", Score: 0.5, SharedPosts: 10},
		{A: "a", B: "b", Score: 0.9},
		{A: "e", B: "f", Score: 0.5, SharedPosts: 20},
		{A: "b", B: "c", Score: 0.5, SharedPosts: 10},
	}
	var got []string
	for _, p := range rank(pairs, 3) {
		got = append(got, p.A+p.B)
	}
	if strings.Join(got, " ") != "ab ef bc" {
		t.Errorf("rank = %v, want ab ef bc: score, then evidence, then name, cut at 3", got)
	}
}

func TestQueryBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    Query
		err  string
	}{
		{"defaults", Query{}, ""},
		{"window too long", Query{Window: 91 * 24 * time.Hour}, "window must be between"},
		{"window too short", Query{Window: time.Minute}, "window must be between"},
		{"support of one", Query{MinShared: 1}, "at least 2"},
		{"lift at chance", Query{MinLift: 1}, "above 1"},
		{"limit too high", Query{Limit: MaxLimit + 1}, "limit must be between"},
		{"negative limit", Query{Limit: -1}, "limit must be between"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.q.Validate()
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.err)
			}
		})
	}
	q, _ := Query{}.withDefaults()
	if q.Window != DefaultWindow || q.MinShared != DefaultMinShared || q.MinLift != DefaultMinLift || q.Limit != DefaultLimit {
		t.Errorf("defaults = %+v", q)
	}
}

func TestSampleShare(t *testing.T) {
	for _, tc := range []struct{ rows, limit, want uint64 }{
		{0, SampleRows, 1024},
		{SampleRows, SampleRows, 1024},
		{2 * SampleRows, SampleRows, 512},
		{10 * SampleRows, SampleRows, 103}, // rounded up: at least the limit
		{1 << 29, SampleRows, 4},
		{1 << 62, 1, 1}, // never none
	} {
		if got := sampleShare(tc.rows, tc.limit); got != tc.want {
			t.Errorf("sampleShare(%d, %d) = %d, want %d", tc.rows, tc.limit, got, tc.want)
		}
	}
}

func TestNewPairScalesASample(t *testing.T) {
	p := newPair("nato", "otan", Overlap{A: 40, B: 35, Both: 12, Total: 677}, Overlap{A: 11, B: 11, Both: 4, Total: 33}, 0.45, 0.1)
	if p.PostsA != 400 || p.PostsB != 350 || p.SharedPosts != 120 || p.SharedAccounts != 40 || p.Sample != 0.1 {
		t.Errorf("pair = %+v, want the sample's counts times 10 and sample 0.1", p)
	}
	if want := round(Overlap{A: 40, B: 35, Both: 12, Total: 677}.Lift()); p.PostLift != want {
		t.Errorf("post lift = %g, want the sample's, %g", p.PostLift, want)
	}
}
