package hashtag_test

import (
	"fmt"

	"tagpulse/internal/hashtag"
)

// Extract finds every hashtag of a post, with its place in the text, the
// spelling as written and the canonical key that counts group by. URL
// fragments and a '#' inside a word are not hashtags.
func ExampleExtract() {
	text := "Le #Réarmement de l'OTAN: #otan #OTAN, voir https://example.org/page#section et C#."
	for _, o := range hashtag.Extract(text) {
		fmt.Printf("%q at [%d:%d] -> %s\n", o.Original, o.Start, o.End, o.Canonical)
	}
	// Output:
	// "Réarmement" at [3:15] -> rearmement
	// "otan" at [27:32] -> otan
	// "OTAN" at [33:38] -> otan
}

// Distinct keeps one tag per canonical key, in order of first appearance,
// with the first spelling: what ingest publishes for a post.
func ExampleDistinct() {
	for _, t := range hashtag.Distinct("#NIF2025 demain! #nif2025 #Drones #DRONES #drones") {
		fmt.Println(t.Tag, t.Display)
	}
	// Output:
	// nif2025 NIF2025
	// drones Drones
}

// Canonical folds the spellings of one tag into one key: case, accents,
// fullwidth and compatibility forms, and the invisible characters that
// copy-paste leaves.
func ExampleCanonical() {
	for _, tag := range []string{"Réarmement", "RÉARMEMENT", "Straße", "ＯＴＡＮ", "ﾄﾞﾛｰﾝ", "Ze\u00adro"} {
		fmt.Printf("%q -> %s\n", tag, hashtag.Canonical(tag))
	}
	// Output:
	// "Réarmement" -> rearmement
	// "RÉARMEMENT" -> rearmement
	// "Straße" -> strasse
	// "ＯＴＡＮ" -> otan
	// "ﾄﾞﾛｰﾝ" -> ドローン
	// "Ze\u00adro" -> zero
}
