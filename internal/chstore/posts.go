package chstore

import (
	"context"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Post is one row of the posts table: a post with at least one hashtag, as
// a tag's page lists it. Excerpt is the start of its text
// (post.Excerpt, at most post.MaxExcerptRunes runes).
type Post struct {
	ID         string
	CreatedAt  time.Time
	Source     string
	Lang       string
	Author     string
	URL        string
	Excerpt    string
	InsertedAt time.Time
}

// Posts holds rows of the posts table column by column, as Mentions does
// for mentions: the aggregator's batches append to it and Insert sends the
// columns as they are.
type Posts struct {
	ID, Source, Lang, Author, URL, Excerpt []string
	CreatedAt, InsertedAt                  []time.Time
}

// Len is the number of rows.
func (p *Posts) Len() int { return len(p.ID) }

// Append adds one row.
func (p *Posts) Append(r Post) {
	p.ID = append(p.ID, r.ID)
	p.Source = append(p.Source, r.Source)
	p.Lang = append(p.Lang, r.Lang)
	p.Author = append(p.Author, r.Author)
	p.URL = append(p.URL, r.URL)
	p.Excerpt = append(p.Excerpt, r.Excerpt)
	p.CreatedAt = append(p.CreatedAt, r.CreatedAt)
	p.InsertedAt = append(p.InsertedAt, r.InsertedAt)
}

// Row returns row i.
func (p *Posts) Row(i int) Post {
	return Post{ID: p.ID[i], CreatedAt: p.CreatedAt[i], Source: p.Source[i], Lang: p.Lang[i], Author: p.Author[i],
		URL: p.URL[i], Excerpt: p.Excerpt[i], InsertedAt: p.InsertedAt[i]}
}

// Reset empties p and keeps its arrays; the strings they held are
// dropped.
func (p *Posts) Reset() {
	for _, col := range []*[]string{&p.ID, &p.Source, &p.Lang, &p.Author, &p.URL, &p.Excerpt} {
		clear(*col)
		*col = (*col)[:0]
	}
	p.CreatedAt, p.InsertedAt = p.CreatedAt[:0], p.InsertedAt[:0]
}

// Insert writes the rows to posts in one INSERT, with d's per-insert
// settings. Writing a post again is harmless: copies share their sorting
// key and reads take one of them (LIMIT 1 BY id).
func (p *Posts) Insert(ctx context.Context, conn driver.Conn, d Durability) error {
	return insertColumns(ctx, conn, d, "posts", "id, created_at, source, lang, author, url, excerpt, inserted_at",
		p.Len(), p.ID, p.CreatedAt, p.Source, p.Lang, p.Author, p.URL, p.Excerpt, p.InsertedAt)
}
