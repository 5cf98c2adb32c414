package post_test

import (
	"fmt"

	"tagpulse/internal/post"
)

// A post as a JSONL line, a JSON array element or a webhook body gives it:
// id and text are required, created_at is RFC 3339, hashtags are the tags
// the producer already knows, and unknown fields are ignored.
func ExampleDecodePost() {
	p, err := post.DecodePost([]byte(`{"id":"export:42","text":"Sommet de l'#OTAN","created_at":"2025-11-05T10:00:00+01:00","lang":"fr","source":"linkedin","hashtags":["#Réarmement"],"likes":12}`), post.DecodeOptions{})
	fmt.Println(p.ID, p.CreatedAt.UTC(), p.Lang, p.Source, p.Tags, err)

	_, err = post.DecodePost([]byte(`{"id":"export:43","text":"#OTAN","created_at":1762333200}`), post.DecodeOptions{})
	fmt.Println(post.Reason(err))
	// Output:
	// export:42 2025-11-05 09:00:00 +0000 UTC fr linkedin [#Réarmement] <nil>
	// wrong_type
}
