package topic

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"tagpulse/internal/hashtag"
)

// MaxNameBytes bounds a topic's name; MaxTags the tags of one topic.
const (
	MaxNameBytes = 64
	MaxTags      = 100
)

// ErrInvalid matches the errors about a topic's name or tags as given
// (errors.Is): a caller answers them as the user's mistake (HTTP 400).
var ErrInvalid = errors.New("invalid topic")

// ErrNotFound matches the error of Show for a topic that has no tags.
var ErrNotFound = errors.New("no such topic")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// name is what a topic's name may be: it appears in URLs, in YAML keys and
// in the CLI, so it is kept to lower-case ASCII letters, digits, '-' and '_'.
var name = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// CheckName returns an error matching ErrInvalid unless topic is a valid
// topic name: 1 to MaxNameBytes lower-case ASCII letters, digits, '-' or
// '_', starting with a letter or a digit.
func CheckName(topic string) error {
	if topic == "" || len(topic) > MaxNameBytes || !name.MatchString(topic) {
		return invalid("topic name %q: want 1 to %d of a-z, 0-9, '-' and '_', starting with a letter or a digit", topic, MaxNameBytes)
	}
	return nil
}

// CanonicalTags returns tags as mentions stores them: without a leading
// '#', by their canonical key (hashtag.Canonical), without repeats, sorted.
// An empty tag, one of more than hashtag.MaxTagBytes, or more than MaxTags
// of them, is an error matching ErrInvalid.
func CanonicalTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(strings.TrimPrefix(t, "#"), "＃")
		if t == "" || len(t) > hashtag.MaxTagBytes || !utf8.ValidString(t) {
			return nil, invalid("tag %q: want non-empty valid UTF-8 of at most %d bytes", t, hashtag.MaxTagBytes)
		}
		if c := hashtag.Canonical(t); c != "" {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxTags {
		return nil, invalid("at most %d tags in a topic, got %d", MaxTags, len(out))
	}
	return out, nil
}
