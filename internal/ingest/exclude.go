package ingest

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"unicode"

	"tagpulse/internal/post"
)

// Exclusions are the accounts and instances an operator keeps out of the
// counts (--exclude-account, --exclude-instance, --exclude-file): their
// posts are not published, and are counted as skipped with reason
// excluded. Tombstones are never excluded: deleting is always allowed. A
// nil *Exclusions excludes nothing.
type Exclusions struct {
	accounts  map[string]bool // normalised (normAccount)
	instances map[string]bool // lower-case domains, without a trailing dot
}

// LoadExclusions compiles the excluded accounts and instances, adding
// those of the file at path when path is not empty (see readExclusions for
// its format). It returns nil when nothing is excluded.
func LoadExclusions(accounts, instances []string, path string) (*Exclusions, error) {
	e := &Exclusions{accounts: map[string]bool{}, instances: map[string]bool{}}
	for _, a := range accounts {
		if err := e.addAccount(a); err != nil {
			return nil, fmt.Errorf("--exclude-account: %w", err)
		}
	}
	for _, d := range instances {
		if err := e.addInstance(d); err != nil {
			return nil, fmt.Errorf("--exclude-instance: %w", err)
		}
	}
	if path != "" {
		if err := e.readFile(path); err != nil {
			return nil, err
		}
	}
	if len(e.accounts) == 0 && len(e.instances) == 0 {
		return nil, nil
	}
	return e, nil
}

// Len returns how many accounts and instances are excluded.
func (e *Exclusions) Len() (accounts, instances int) {
	if e == nil {
		return 0, 0
	}
	return len(e.accounts), len(e.instances)
}

// readFile adds the entries of an exclusion file: one a line, "account
// NAME" or "instance DOMAIN"; blank lines and what follows a '#' are
// ignored.
func (e *Exclusions) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading exclusion file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		var err error
		switch {
		case len(fields) != 2:
			err = errors.New(`want "account NAME" or "instance DOMAIN"`)
		case fields[0] == "account":
			err = e.addAccount(fields[1])
		case fields[0] == "instance":
			err = e.addInstance(fields[1])
		default:
			err = fmt.Errorf(`%q: want "account NAME" or "instance DOMAIN"`, fields[0])
		}
		if err != nil {
			return fmt.Errorf("exclusion file %s:%d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading exclusion file %s: %w", path, err)
	}
	return nil
}

// normAccount is the form accounts are compared in: lower case, without
// surrounding space or a leading '@' ("@Ann@Social.example" is
// "ann@social.example").
func normAccount(s string) string {
	return strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "@")
}

func (e *Exclusions) addAccount(a string) error {
	n := normAccount(a)
	switch {
	case n == "":
		return fmt.Errorf("empty account %q", a)
	case strings.IndexFunc(n, unicode.IsSpace) >= 0:
		return fmt.Errorf("account %q holds white space", a)
	}
	e.accounts[n] = true
	return nil
}

func (e *Exclusions) addInstance(d string) error {
	n := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	n = strings.TrimPrefix(strings.TrimPrefix(n, "*"), ".") // subdomains are always included
	if n == "" || strings.ContainsAny(n, "/:@ \t") {
		return fmt.Errorf("instance %q: want a domain, like spam.example", d)
	}
	e.instances[n] = true
	return nil
}

// instance reports whether domain is an excluded instance or a subdomain
// of one, as Mastodon's domain blocks match.
func (e *Exclusions) instance(domain string) bool {
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	for domain != "" {
		if e.instances[domain] {
			return true
		}
		_, parent, ok := strings.Cut(domain, ".")
		if !ok {
			return false
		}
		domain = parent
	}
	return false
}

// Excludes reports whether p is excluded: its author is an excluded
// account, or it comes from an excluded instance. The post's host is the
// host of its url, else of its id when that is a URL after the source's
// kind ("mastodon:https://host/…"). An author is matched as written
// ("ann@social.example", a Bluesky DID), and an author without a domain
// ("ann", as Mastodon names its local accounts) also as "ann@HOST". The
// instance of a post is its author's domain and its host.
func (e *Exclusions) Excludes(p *post.Post) bool {
	if e == nil || p.Deleted {
		return false
	}
	host := postHost(p)
	if author := normAccount(p.Author); author != "" {
		if e.accounts[author] {
			return true
		}
		if i := strings.LastIndexByte(author, '@'); i >= 0 {
			if e.instance(author[i+1:]) {
				return true
			}
		} else if host != "" && !strings.HasPrefix(author, "did:") && e.accounts[author+"@"+host] {
			return true
		}
	}
	return host != "" && e.instance(host)
}

// postHost returns the host of p's url, else of its id when the id is a
// URL, or a source kind and a URL, else "".
func postHost(p *post.Post) string {
	_, afterKind, _ := strings.Cut(p.ID, ":")
	for _, raw := range []string{p.URL, p.ID, afterKind} {
		if !strings.HasPrefix(raw, "http://") && !strings.HasPrefix(raw, "https://") {
			continue
		}
		if u, err := url.Parse(raw); err == nil && u.Hostname() != "" {
			return strings.ToLower(u.Hostname())
		}
	}
	return ""
}
