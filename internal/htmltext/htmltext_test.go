package htmltext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestToText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain", "hello world", "hello world"},
		{"entities", "Caf&eacute; &amp; th&#233; &#x23;otan &lt;b&gt; &#35;NIF2025", "Café & thé #otan <b> #NIF2025"},
		{"unknown entity kept", "a &bogus; b", "a &bogus; b"},
		{"numeric zero", "a&#0;b", "a\uFFFDb"},
		{"nbsp kept", "a&nbsp;#tag", "a\u00a0#tag"},
		{"tags removed", "<b>bold</b> and <i>italic</i>", "bold and italic"},
		{"Mastodon hashtag", `<p>Réarmement <a href="https://m.example/tags/otan" class="mention hashtag" rel="tag">#<span>OTAN</span></a></p>`,
			"Réarmement #OTAN"},
		{"link text kept", `see <a href="https://example.org/x">the report</a>.`, "see the report."},
		{"paragraphs", "<p>one</p><p>two</p>", "one\ntwo"},
		{"br", "one<br>two<br/>three</br>four", "one\ntwo\nthree\nfour"},
		{"div and li", "<div>a</div><ul><li>b</li><li>c</li></ul>", "a\nb\nc"},
		{"headings", "<h1>Title</h1>text", "Title\ntext"},
		{"white space collapses", "  a \n\t b  <p>  c  </p>  ", "a b\nc"},
		{"pre keeps white space", "<pre>a  b\n  c</pre>d", "a  b\n  c\nd"},
		{"script dropped", "a<script>var x = '<p>#no</p>';</script>b", "ab"},
		{"style dropped", "<style>p { color: red }</style><p>#yes</p>", "#yes"},
		{"comment dropped", "a<!-- #no -->b", "ab"},
		{"document", "<!DOCTYPE html><html><head><title>T</title></head><body><p>#tag</p></body></html>", "#tag"},
		{"unclosed tags", "<p>a<div>b", "a\nb"},
		{"stray end tags", "a</p></div>b", "a\nb"},
		{"attribute with markup", `<img alt="<p>" src="x">text`, "text"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"CDATA outside foreign content is a comment", "a<![CDATA[x]]>b", "ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ToText(tt.in); got != tt.want {
				t.Errorf("ToText(%q)\n got  %q\n want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestToTextDeepNesting(t *testing.T) {
	const depth = 200000
	in := strings.Repeat("<div><span>", depth) + "#deep" + strings.Repeat("</span></div>", depth)
	if got := ToText(in); got != "#deep" {
		t.Errorf("ToText(deeply nested) = %q, want %q", got, "#deep")
	}
}

func FuzzToText(f *testing.F) {
	for _, s := range []string{
		"", "<p>a</p>", "&#35;tag &amp;", "<script>x</script>", "<pre> a\n b</pre>",
		"<a href=x>#<span>t</span></a>", "a\xffb", "<p><div><li>x", "&#xD800;", "<br/></br>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := ToText(in)
		if !utf8.ValidString(out) {
			t.Fatalf("ToText(%q) = %q: invalid UTF-8", in, out)
		}
		if out != strings.TrimSpace(out) {
			t.Fatalf("ToText(%q) = %q: not trimmed", in, out)
		}
		if strings.Contains(out, "\n\n") {
			t.Fatalf("ToText(%q) = %q: empty line", in, out)
		}
	})
}
