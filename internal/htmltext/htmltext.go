// Package htmltext turns HTML content into the plain text that hashtag
// extraction reads.
//
// Sources that deliver HTML, RSS and Atom item content and Mastodon's
// `content`, pass it through ToText where it enters cmd/ingest, before
// package hashtag extracts the tags and the post goes to Kafka. There,
// entities such as "&#35;" or "&amp;" are decoded and markup such as
// Mastodon's `<a class="hashtag">#<span>otan</span></a>` is removed, so the
// tag reads "#otan" again. Plain-text sources skip it: decoding entities in
// plain text would change what the author wrote.
package htmltext

import (
	"strings"

	"golang.org/x/net/html"
)

// ToText returns the text of an HTML fragment or document: character
// references decoded, tags removed (the text of links and other inline
// elements kept in place), the content of script, style and template
// dropped, and a line break for br and at the start and end of block
// elements such as p, div, li and headings. Runs of white space collapse to
// one space, except inside pre; lines carry no leading or trailing spaces,
// empty lines collapse, and the result is trimmed. Invalid UTF-8 becomes
// U+FFFD.
//
// The work is linear in the input: the tokenizer reads it once, and nesting
// only moves counters, so deeply nested input costs nothing extra.
func ToText(content string) string {
	w := writer{}
	w.b.Grow(len(content))
	z := html.NewTokenizer(strings.NewReader(content))
	skip, pre := 0, 0 // depth of dropped and of preformatted elements
	for {
		switch tt := z.Next(); tt {
		case html.ErrorToken:
			// io.EOF, or an error of the reader, which a strings.Reader
			// does not have: the text so far is all there is.
			return strings.ToValidUTF8(strings.TrimSpace(w.b.String()), "\uFFFD")
		case html.TextToken:
			if skip == 0 {
				w.text(z.Text(), pre > 0)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			tag := string(name) // the compiler does not allocate for the switch
			switch {
			case dropped[tag]:
				if tt == html.StartTagToken {
					skip++
				}
			case tag == "br":
				w.newline()
			case block[tag]:
				w.newline()
				if tag == "pre" {
					pre++
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			switch {
			case dropped[tag]:
				if skip > 0 {
					skip--
				}
			case tag == "br":
				// "</br>" is read as "<br>" by browsers.
				w.newline()
			case block[tag]:
				w.newline()
				if tag == "pre" && pre > 0 {
					pre--
				}
			}
		}
	}
}

// dropped are the elements whose content is no text.
var dropped = map[string]bool{"script": true, "style": true, "template": true, "head": true, "title": true, "noscript": true}

// block are the elements that start and end a line.
var block = map[string]bool{
	"address": true, "article": true, "aside": true, "blockquote": true, "dd": true,
	"details": true, "dialog": true, "div": true, "dl": true, "dt": true, "fieldset": true,
	"figcaption": true, "figure": true, "footer": true, "form": true, "h1": true, "h2": true,
	"h3": true, "h4": true, "h5": true, "h6": true, "header": true, "hr": true, "li": true,
	"main": true, "nav": true, "ol": true, "p": true, "pre": true, "section": true,
	"summary": true, "table": true, "td": true, "th": true, "tr": true, "ul": true,
}

// writer builds the text with collapsed white space.
type writer struct {
	b     strings.Builder
	space bool // a space is pending
	bol   bool // at the beginning of a line (or of the text)
}

func (w *writer) newline() {
	w.space = false
	if w.b.Len() == 0 || w.bol {
		w.bol = true
		return
	}
	w.b.WriteByte('\n')
	w.bol = true
}

func (w *writer) text(t []byte, pre bool) {
	for len(t) > 0 {
		c := t[0]
		if pre {
			if c == '\n' {
				w.newline()
			} else if c != '\r' {
				w.write(t[:1])
			}
			t = t[1:]
			continue
		}
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' {
			w.space = !w.bol
			t = t[1:]
			continue
		}
		// Copy the run up to the next white space.
		k := 1
		for k < len(t) && !isSpace(t[k]) {
			k++
		}
		w.write(t[:k])
		t = t[k:]
	}
}

func (w *writer) write(p []byte) {
	if w.space {
		w.b.WriteByte(' ')
		w.space = false
	}
	w.b.Write(p)
	w.bol = false
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}
