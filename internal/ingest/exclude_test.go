package ingest

import (
	"strings"
	"testing"

	"tagpulse/internal/post"
)

func TestExclusions(t *testing.T) {
	e, err := LoadExclusions([]string{"@Carl"}, []string{"Other.Example"}, "testdata/exclusions.txt")
	if err != nil {
		t.Fatal(err)
	}
	if a, i := e.Len(); a != 4 || i != 3 {
		t.Fatalf("%d accounts and %d instances, want 4 and 3", a, i)
	}
	tests := []struct {
		name string
		p    post.Post
		want bool
	}{
		{"an excluded account, as Mastodon writes a remote one", post.Post{ID: "a", Author: "spammer@flood.example"}, true},
		{"the same in another case, with its @", post.Post{ID: "a", Author: "@SPAMMER@flood.example"}, true},
		{"another account of that instance", post.Post{ID: "a", Author: "ann@flood.example"}, false},
		{"a local account, by the host of its url", post.Post{ID: "a", Author: "ann", URL: "https://social.example/@ann/1"}, true},
		{"a local account, by the host of its id", post.Post{ID: "mastodon:https://social.example/users/ann/statuses/1", Author: "ann"}, true},
		{"the same name elsewhere", post.Post{ID: "a", Author: "ann", URL: "https://other.social/@ann/1"}, false},
		{"an account without a domain, as written", post.Post{ID: "a", Author: "carl"}, true},
		{"a Bluesky DID", post.Post{ID: "bluesky:at://did:plc:bot4example/app.bsky.feed.post/1", Author: "did:plc:bot4example", URL: "https://bsky.app/profile/did:plc:bot4example/post/1"}, true},
		{"another DID", post.Post{ID: "a", Author: "did:plc:ann4example"}, false},
		{"an excluded instance, by the author's domain", post.Post{ID: "a", Author: "bob@spam.example"}, true},
		{"a subdomain of one", post.Post{ID: "a", Author: "bob@eu.spam.example"}, true},
		{"a domain that merely ends alike", post.Post{ID: "a", Author: "bob@nospam.example"}, false},
		{"an instance by the url's host", post.Post{ID: "a", URL: "https://Other.Example./x"}, true},
		{"an instance by the id's host", post.Post{ID: "rss:https://a.bots.example/item/1"}, true},
		{"an instance given as *.domain matches the domain too", post.Post{ID: "a", Author: "x@bots.example"}, true},
		{"no author, no URL", post.Post{ID: "a"}, false},
		{"a tombstone is never excluded", post.Post{ID: "a", Author: "spammer@flood.example", Deleted: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.Excludes(&tt.p); got != tt.want {
				t.Errorf("Excludes(%+v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
	var none *Exclusions
	if none.Excludes(&post.Post{ID: "a", Author: "carl"}) {
		t.Error("nil exclusions exclude a post")
	}
}

func TestLoadExclusionsErrors(t *testing.T) {
	tests := []struct {
		name                string
		accounts, instances []string
		file                string
		want                string // "" when nothing is excluded and no error
	}{
		{"nothing", nil, nil, "", ""},
		{"a URL for an instance", nil, []string{"https://spam.example/"}, "", "--exclude-instance: instance \"https://spam.example/\": want a domain"},
		{"an empty account", []string{"@"}, nil, "", "--exclude-account: empty account"},
		{"a bad line", nil, nil, "testdata/exclusions-bad.txt", "exclusions-bad.txt:2: \"user\""},
		{"a missing file", nil, nil, "testdata/none.txt", "reading exclusion file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := LoadExclusions(tt.accounts, tt.instances, tt.file)
			switch {
			case tt.want == "" && (err != nil || e != nil):
				t.Errorf("got %v, %v; want nothing excluded", e, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err %v, want one containing %q", err, tt.want)
			}
		})
	}
}
