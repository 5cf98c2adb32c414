package source

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestReadLine reads lines through a 16-byte buffer, so lines that fit it,
// fill it exactly and overflow it (gathered in the reused buffer) follow
// one another.
func TestReadLine(t *testing.T) {
	over := strings.Repeat("z", maxLineBytes+1)
	tests := []struct {
		name  string
		input string
		want  []string // "!" marks a line over maxLineBytes
	}{
		{"short lines", "a\nbb\r\n\nccc", []string{"a", "bb", "", "ccc"}},
		{"exactly the buffer", strings.Repeat("x", 15) + "\n" + "y\n", []string{strings.Repeat("x", 15), "y"}},
		{"longer than the buffer, then short", strings.Repeat("L", 40) + "\nshort\n" + strings.Repeat("M", 33) + "\r\nz", []string{strings.Repeat("L", 40), "short", strings.Repeat("M", 33), "z"}},
		{"over the limit, then fine", over + "\nfine\n", []string{"!", "fine"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tt.input), 16)
			var long []byte
			var got []string
			var total int64
			for {
				line, n, tooLong, err := readLine(br, &long)
				total += n
				if err != nil && !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				if errors.Is(err, io.EOF) && n == 0 {
					break
				}
				if tooLong {
					got = append(got, "!")
				} else {
					got = append(got, string(line))
				}
				if errors.Is(err, io.EOF) {
					break
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("lines %q, want %q", got, tt.want)
			}
			if total != int64(len(tt.input)) {
				t.Errorf("%d bytes counted, want %d", total, len(tt.input))
			}
		})
	}
}
