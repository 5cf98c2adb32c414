// Command testsummary reads `go test -json` output on stdin, prints the
// tests' own output for failures, a line per package, and a final line
// "N passed, N failed, N skipped". It exits non-zero when a test or a
// package failed, or when no test ran at all.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
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

func main() {
	var passed, failed, skipped int
	outputs := map[string]*strings.Builder{}
	pkgLines := map[string]string{}
	var failedNames []string
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	for in.Scan() {
		var e event
		if err := json.Unmarshal(in.Bytes(), &e); err != nil {
			// Build errors and the like come as plain text.
			fmt.Println(in.Text())
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			b := outputs[key]
			if b == nil {
				b = &strings.Builder{}
				outputs[key] = b
			}
			b.WriteString(e.Output)
		case "pass", "fail", "skip":
			if e.Test == "" {
				pkgLines[e.Package] = fmt.Sprintf("%-4s %s (%.1fs)", strings.ToUpper(e.Action), e.Package, e.Elapsed)
				if e.Action == "fail" {
					failedNames = append(failedNames, e.Package)
					if b := outputs[key]; b != nil {
						fmt.Print(b.String())
					}
				}
				continue
			}
			switch e.Action {
			case "pass":
				passed++
			case "fail":
				failed++
				failedNames = append(failedNames, e.Package+"."+e.Test)
				if b := outputs[key]; b != nil {
					fmt.Print(b.String())
				}
			case "skip":
				skipped++
				if b := outputs[key]; b != nil {
					fmt.Print(b.String())
				}
			}
		}
	}
	pkgs := make([]string, 0, len(pkgLines))
	for p := range pkgLines {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		fmt.Println(pkgLines[p])
	}
	if len(failedNames) > 0 {
		fmt.Println("failed:", strings.Join(failedNames, ", "))
	}
	fmt.Printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 || len(failedNames) > 0 || passed == 0 {
		os.Exit(1)
	}
}
