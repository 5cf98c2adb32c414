// Command testsummary reads `go test -json` output on stdin (one run, or
// several appended), prints the output of failed and skipped tests, a line
// per package, and a final line "N passed, N failed, N skipped". Each test
// counts once, with its last outcome, so a test skipped in one pass and run
// in a later one counts as run. It exits non-zero when a test or a package
// failed, or when no test ran at all.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type result struct {
	action  string
	elapsed float64
	output  strings.Builder
}

func main() {
	if !summarize(os.Stdin, os.Stdout) {
		os.Exit(1)
	}
}

// summarize writes the summary of the events in r to w and reports whether
// everything passed.
func summarize(r io.Reader, w io.Writer) bool {
	tests := map[string]*result{}
	pkgs := map[string]*result{}
	var order []string // test keys in the order they finished
	in := bufio.NewScanner(r)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	for in.Scan() {
		var e event
		if err := json.Unmarshal(in.Bytes(), &e); err != nil {
			fmt.Fprintln(w, in.Text()) // build errors and the like come as plain text
			continue
		}
		table, key := tests, e.Package+"."+e.Test
		if e.Test == "" {
			table, key = pkgs, e.Package
		}
		res := table[key]
		if res == nil {
			res = &result{}
			table[key] = res
		}
		switch e.Action {
		case "start", "run":
			if res.action != "" && res.action != "fail" { // a later pass: its output replaces the earlier one
				res.output.Reset()
			}
		case "output":
			res.output.WriteString(e.Output)
		case "pass", "fail", "skip":
			if e.Test != "" && res.action == "" {
				order = append(order, key)
			}
			if e.Test == "" {
				// A package failed if any pass of it failed: a later pass
				// that runs only some of its tests cannot clear that.
				res.elapsed += e.Elapsed
				if res.action != "fail" {
					res.action = e.Action
				}
				continue
			}
			res.action, res.elapsed = e.Action, e.Elapsed
		}
	}

	var passed, failed, skipped int
	var failedNames []string
	for _, key := range order {
		res := tests[key]
		switch res.action {
		case "pass":
			passed++
		case "fail":
			failed++
			failedNames = append(failedNames, key)
			fmt.Fprint(w, res.output.String())
		case "skip":
			skipped++
			fmt.Fprint(w, res.output.String())
		}
	}
	names := make([]string, 0, len(pkgs))
	for p := range pkgs {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		res := pkgs[p]
		label := strings.ToUpper(res.action)
		switch res.action {
		case "skip":
			label = "NONE" // a package without tests
		case "fail":
			failedNames = append(failedNames, p)
			fmt.Fprint(w, res.output.String())
		}
		fmt.Fprintf(w, "%-4s %s (%.1fs)\n", label, p, res.elapsed)
	}
	if len(failedNames) > 0 {
		fmt.Fprintln(w, "failed:", strings.Join(failedNames, ", "))
	}
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	return failed == 0 && len(failedNames) == 0 && passed > 0
}
