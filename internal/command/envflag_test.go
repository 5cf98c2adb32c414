package command

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestPrecedence(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		want time.Duration
	}{
		{"default", "", nil, time.Second},
		{"environment", "5s", nil, 5 * time.Second},
		{"flag wins over environment", "5s", []string{"--flush=7s"}, 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TEST_FLUSH", tt.env)
			fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
			s := NewFlagSet(fs)
			var d time.Duration
			s.Duration(&d, "flush", "TEST_FLUSH", time.Second, "flush interval")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if d != tt.want {
				t.Fatalf("got %v, want %v", d, tt.want)
			}
		})
	}
}

func TestInvalidEnvironmentIsReported(t *testing.T) {
	t.Setenv("TEST_N", "many")
	s := NewFlagSet(pflag.NewFlagSet("x", pflag.ContinueOnError))
	var n int
	s.Int(&n, "n", "TEST_N", 3, "n")
	if s.Err() == nil {
		t.Fatal("want an error for TEST_N=many")
	}
	if n != 3 {
		t.Fatalf("got %d, want the default 3", n)
	}
}

func TestStringsFromEnvironment(t *testing.T) {
	t.Setenv("TEST_BROKERS", " a:1, b:2 ,")
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	var v []string
	NewFlagSet(fs).Strings(&v, "brokers", "TEST_BROKERS", []string{"c:3"}, "brokers")
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if len(v) != 2 || v[0] != "a:1" || v[1] != "b:2" {
		t.Fatalf("got %q", v)
	}
}

func TestSecretFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(path, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_PW", "")
	t.Setenv("TEST_PW_FILE", path)
	got, err := Secret("TEST_PW")
	if err != nil || got != "s3cret" {
		t.Fatalf("got %q, %v", got, err)
	}
	t.Setenv("TEST_PW", "direct")
	if got, _ := Secret("TEST_PW"); got != "direct" {
		t.Fatalf("environment should win, got %q", got)
	}
}

// TestAnnotationsKeepTheBuiltInDefault sets every variable and checks that
// the annotations still give the built-in defaults, which documentation is
// generated from, while the flags take the environment's values.
func TestAnnotationsKeepTheBuiltInDefault(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	s := NewFlagSet(fs)
	var (
		str  string
		list []string
		n    int
		n64  int64
		b    bool
		d    time.Duration
		none string
	)
	for env, v := range map[string]string{"T_S": "env", "T_L": "x,y", "T_N": "9", "T_N64": "9", "T_B": "true", "T_D": "9s"} {
		t.Setenv(env, v)
	}
	s.String(&str, "s", "T_S", "built-in", "")
	s.Strings(&list, "l", "T_L", []string{"a", "b"}, "")
	s.Int(&n, "n", "T_N", 3, "")
	s.Int64(&n64, "n64", "T_N64", 1<<20, "")
	s.Bool(&b, "b", "T_B", false, "")
	s.Duration(&d, "d", "T_D", 1500*time.Millisecond, "")
	s.String(&none, "none", "", "x", "")
	want := map[string][2]string{
		"s": {"T_S", "built-in"}, "l": {"T_L", "a,b"}, "n": {"T_N", "3"}, "n64": {"T_N64", "1048576"},
		"b": {"T_B", "false"}, "d": {"T_D", "1.5s"},
	}
	fs.VisitAll(func(f *pflag.Flag) {
		got := [2]string{first(f.Annotations[AnnotationEnv]), first(f.Annotations[AnnotationDefault])}
		if got != want[f.Name] {
			t.Errorf("--%s annotated %q, want %q", f.Name, got, want[f.Name])
		}
		if f.Name != "none" && f.DefValue == got[1] {
			t.Errorf("--%s: the flag's default %q should be the environment's", f.Name, f.DefValue)
		}
	})
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// TestTypedEnvironmentValues covers each typed flag: a valid value of its
// environment variable becomes the default, an invalid one is reported
// (naming the kind) and leaves the built-in default, which is what the
// help annotation shows either way.
func TestTypedEnvironmentValues(t *testing.T) {
	// register registers flag f of a kind, read from TEST_TYPED, and
	// returns a function printing its value.
	register := map[string]func(s *FlagSet) func() string{
		"int": func(s *FlagSet) func() string {
			var v int
			s.Int(&v, "f", "TEST_TYPED", 3, "f")
			return func() string { return fmt.Sprint(v) }
		},
		"int64": func(s *FlagSet) func() string {
			var v int64
			s.Int64(&v, "f", "TEST_TYPED", 4, "f")
			return func() string { return fmt.Sprint(v) }
		},
		"bool": func(s *FlagSet) func() string {
			var v bool
			s.Bool(&v, "f", "TEST_TYPED", false, "f")
			return func() string { return fmt.Sprint(v) }
		},
		"duration": func(s *FlagSet) func() string {
			var v time.Duration
			s.Duration(&v, "f", "TEST_TYPED", time.Hour, "f")
			return func() string { return v.String() }
		},
	}
	tests := []struct {
		kind, env, want, wantErr, wantDefault string
	}{
		{"int", "7", "7", "", "3"},
		{"int", "x", "3", `environment variable TEST_TYPED: "x" is not an integer`, "3"},
		{"int64", "9000000000", "9000000000", "", "4"},
		{"int64", "1.5", "4", `environment variable TEST_TYPED: "1.5" is not an integer`, "4"},
		{"bool", "true", "true", "", "false"},
		{"bool", "yes please", "false", `environment variable TEST_TYPED: "yes please" is not a boolean`, "false"},
		{"duration", "90s", "1m30s", "", "1h"},
		{"duration", "soon", "1h0m0s", `environment variable TEST_TYPED: "soon" is not a duration`, "1h"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" "+tt.env, func(t *testing.T) {
			t.Setenv("TEST_TYPED", tt.env)
			fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
			s := NewFlagSet(fs)
			get := register[tt.kind](s)
			if err := fs.Parse(nil); err != nil {
				t.Fatal(err)
			}
			gotErr := ""
			if err := s.Err(); err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("Err() = %q, want %q", gotErr, tt.wantErr)
			}
			if got := get(); got != tt.want {
				t.Errorf("value = %s, want %s", got, tt.want)
			}
			if got := fs.Lookup("f").Annotations[AnnotationDefault]; len(got) != 1 || got[0] != tt.wantDefault {
				t.Errorf("default annotation = %q, want %q", got, tt.wantDefault)
			}
		})
	}
}
