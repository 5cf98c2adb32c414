package ingestcli

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"tagpulse/internal/ingest"
	"tagpulse/internal/post"
)

// maxLineBytes bounds one input line of `ingest extract`, newline excluded.
const maxLineBytes = 1 << 20

// newExtractCmd builds `ingest extract`: posts on stdin, one per line, their
// distinct hashtags on stdout, one JSON object per line.
func newExtractCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "extract",
		Short: "Print the hashtags of the posts read from stdin",
		Long: `Reads posts from stdin, one per line: a JSON object in the post format of
"ingest file --help" (id and text required, created_at, hashtags, …), or
plain text, whose id is then "text:" and the first 32 hex digits of the
SHA-256 of the line. Each post is checked as ingest file and ingest run
check the posts they publish, with their default bounds: created_at in
RFC 3339 from 2000-01-01 to 15 minutes after now (missing: now), text up
to 64 KiB, the producer's hashtags well formed. So a post extract accepts
is one ingest publishes, with the same tags.

Writes one JSON object per post: {"id":…,"hashtags":[{"tag":…,"display":…},…]},
each tag (canonical key) once, in order of first appearance, with the
spelling of its first occurrence, then the producer's hashtags the text does
not hold, within the bounds ingest publishes with: a tag over 256 bytes is
left out, and a post keeps its first 100 tags. A tombstone
({"id":…,"deleted":true}) is written {"id":…,"deleted":true,"hashtags":[]}:
its text and hashtags are not read. Blank lines are skipped.
SIGTERM or SIGINT stops the reading of stdin.

A bad line (not such a post, invalid UTF-8, longer than 1 MiB) is reported
on stderr as "line N: reason", the reason ingest would give, and skipped;
the exit status is non-zero when any line failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true // a bad line is no usage error
			return runExtract(newContextReader(cmd.Context(), cmd.InOrStdin()), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
}

// extractChecks are the bounds `ingest extract` checks posts with: those
// `ingest file` and `ingest run` apply by default.
var extractChecks = ingest.DefaultConfig()

// extractOutput is one line of `ingest extract` output: a tombstone is
// marked deleted, and has no hashtags.
type extractOutput struct {
	ID       string         `json:"id"`
	Deleted  bool           `json:"deleted,omitempty"`
	Hashtags []post.Hashtag `json:"hashtags"`
}

// runExtract reads posts from in and writes their hashtags to out, reporting
// bad lines on errOut. It returns an error when a line failed or when reading
// in or writing out failed.
func runExtract(in io.Reader, out, errOut io.Writer) error {
	r := bufio.NewReaderSize(in, 64<<10)
	w := bufio.NewWriterSize(out, 64<<10)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var (
		line      []byte
		rec       extractOutput
		n, failed int
	)
	for {
		var tooLong bool
		var err error
		line, tooLong, err = readLine(r, line[:0])
		if err != nil && !errors.Is(err, io.EOF) {
			return errors.Join(fmt.Errorf("reading line %d: %w", n+1, err), w.Flush())
		}
		if len(line) == 0 && !tooLong && errors.Is(err, io.EOF) {
			break
		}
		n++
		p, bad := parseLine(line, tooLong, time.Now())
		switch {
		case bad != "":
			failed++
			// Keep stdout and stderr in step for whoever reads both.
			if ferr := w.Flush(); ferr != nil {
				return fmt.Errorf("writing output: %w", ferr)
			}
			fmt.Fprintf(errOut, "line %d: %s\n", n, bad)
		case p.ID != "":
			rec.ID, rec.Deleted = p.ID, p.Deleted
			rec.Hashtags = rec.Hashtags[:0]
			if !p.Deleted {
				rec.Hashtags, _ = ingest.Hashtags.AppendDistinct(rec.Hashtags, p.Text, p.Tags)
			}
			if rec.Hashtags == nil {
				rec.Hashtags = []post.Hashtag{} // "hashtags": [] rather than null
			}
			if werr := enc.Encode(&rec); werr != nil {
				return fmt.Errorf("writing output: %w", werr)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d lines failed", failed, n)
	}
	return nil
}

// readLine appends the next line of r to buf without its line ending ("\n"
// or "\r\n"). A line longer than maxLineBytes is read to its end but not
// kept: tooLong reports it. err is io.EOF after the last line.
func readLine(r *bufio.Reader, buf []byte) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > maxLineBytes+2 { // room for "\r\n"
				tooLong, buf = true, buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		buf = bytes.TrimSuffix(buf, []byte("\n"))
		buf = bytes.TrimSuffix(buf, []byte("\r"))
		if len(buf) > maxLineBytes {
			tooLong, buf = true, buf[:0]
		}
		return buf, tooLong, err
	}
}

// parseLine turns an input line into a post, checked as ingest checks
// the posts it publishes (ingest.Config.CheckPost with the default
// bounds, at now). A blank line gives a post without id; a bad line gives
// the reason.
func parseLine(line []byte, tooLong bool, now time.Time) (p post.Post, bad string) {
	if tooLong {
		return post.Post{}, fmt.Sprintf("longer than %d bytes", maxLineBytes)
	}
	if !utf8.Valid(line) {
		return post.Post{}, "invalid UTF-8"
	}
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 {
		return post.Post{}, ""
	}
	if trimmed[0] != '{' {
		sum := sha256.Sum256(line)
		p = post.Post{ID: "text:" + hex.EncodeToString(sum[:16]), Text: string(line)}
	} else {
		var err error
		p, err = post.DecodePost(trimmed, post.DecodeOptions{MaxTextBytes: extractChecks.MaxTextBytes, Now: func() time.Time { return now }})
		if err != nil {
			return post.Post{}, err.Error()
		}
	}
	if err := extractChecks.CheckPost(&p, now, true); err != nil {
		return post.Post{}, err.Error()
	}
	return p, ""
}
