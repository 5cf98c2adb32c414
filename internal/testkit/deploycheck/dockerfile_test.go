package deploycheck

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dockerfileInstructions returns the instructions of a Dockerfile with
// continuation lines joined and comments dropped.
func dockerfileInstructions(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		out = append(out, cur.String())
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	ins := dockerfileInstructions(t, filepath.Join(root, "Dockerfile"))
	args := make(map[string]string)
	var froms, users []string
	var build string
	cgoOff := false
	for _, in := range ins {
		keyword, rest, _ := strings.Cut(in, " ")
		switch strings.ToUpper(keyword) {
		case "ARG":
			if k, v, ok := strings.Cut(rest, "="); ok {
				args[k] = v
			}
		case "FROM":
			froms = append(froms, rest)
		case "USER":
			users = append(users, rest)
		case "ENV":
			cgoOff = cgoOff || strings.Contains(rest, "CGO_ENABLED=0")
		case "RUN":
			if strings.Contains(rest, "go build") {
				build = rest
				cgoOff = cgoOff || strings.Contains(rest, "CGO_ENABLED=0")
			}
		}
	}
	argRef := regexp.MustCompile(`\$\{(\w+)\}`)
	t.Run("stages use pinned images", func(t *testing.T) {
		if len(froms) < 2 {
			t.Fatalf("FROM %v: want a build stage and a final stage", froms)
		}
		for _, from := range froms {
			image := argRef.ReplaceAllStringFunc(strings.Fields(from)[0], func(ref string) string {
				return args[argRef.FindStringSubmatch(ref)[1]]
			})
			name, tag, ok := strings.Cut(image, ":")
			if !ok || tag == "" || tag == "latest" || strings.HasPrefix(tag, "-") || name == "" {
				t.Errorf("FROM %s (%s): want a pinned tag", from, image)
			}
		}
	})
	t.Run("static binaries of both commands", func(t *testing.T) {
		if !cgoOff {
			t.Error("want CGO_ENABLED=0")
		}
		for _, pkg := range []string{"./cmd/ingest", "./cmd/aggregate"} {
			if !strings.Contains(build, pkg) {
				t.Errorf("go build %q does not build %s", build, pkg)
			}
		}
	})
	t.Run("runs as non-root", func(t *testing.T) {
		if len(users) == 0 {
			t.Fatal("no USER: the image would run as root")
		}
		last := users[len(users)-1]
		if u, _, _ := strings.Cut(last, ":"); u == "root" || u == "0" {
			t.Errorf("USER %s: want an unprivileged user", last)
		}
	})
	t.Run("dockerignore keeps the context small", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(raw), "\n")
		for _, want := range []string{"*", "!go.mod", "!go.sum", "!cmd/", "!internal/"} {
			found := false
			for _, l := range lines {
				found = found || strings.TrimSpace(l) == want
			}
			if !found {
				t.Errorf(".dockerignore lacks %q", want)
			}
		}
	})
}
