package postgres

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"termhost/persist"
)

const docCols = `id, owner, title, body, version, updated_at`

// CreateDocument implements persist.Documents; an empty ID gets a random
// one. ErrExists.
func (s *Store) CreateDocument(ctx context.Context, d persist.Document) (persist.Document, error) {
	if d.ID == "" {
		d.ID = newDocID()
	}
	d.Version = 1
	d.UpdatedAt = s.now().UTC().Truncate(1e6)
	_, err := s.pool.Exec(ctx, `INSERT INTO documents(`+docCols+`) VALUES($1,$2,$3,$4,$5,$6)`,
		d.ID, d.Owner, d.Title, d.Body, d.Version, ms(d.UpdatedAt))
	return d, wrap(err, "document %q", d.ID)
}

// GetDocument implements persist.Documents; another owner's document is
// reported as not found.
func (s *Store) GetDocument(ctx context.Context, owner, id string) (persist.Document, error) {
	d, err := scanDoc(s.pool.QueryRow(ctx, `SELECT `+docCols+` FROM documents WHERE owner = $1 AND id = $2`, owner, id))
	return d, wrap(err, "document %q of %s", id, owner)
}

// ListDocuments implements persist.Documents, ordered by title.
func (s *Store) ListDocuments(ctx context.Context, owner string) ([]persist.Document, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+docCols+` FROM documents WHERE owner = $1 ORDER BY title, id`, owner)
	if err != nil {
		return nil, wrap(err, "documents of %s", owner)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (persist.Document, error) { return scanDoc(r) })
	return out, wrap(err, "documents of %s", owner)
}

// SaveDocument implements persist.Documents: conditional on d.Version in
// one statement. ErrConflict, ErrNotFound.
func (s *Store) SaveDocument(ctx context.Context, d persist.Document) (persist.Document, error) {
	now := s.now().UTC().Truncate(1e6)
	tag, err := s.pool.Exec(ctx, `UPDATE documents SET title = $1, body = $2, version = version + 1, updated_at = $3 WHERE owner = $4 AND id = $5 AND version = $6`,
		d.Title, d.Body, ms(now), d.Owner, d.ID, d.Version)
	if err != nil {
		return d, wrap(err, "save document %q of %s", d.ID, d.Owner)
	}
	if tag.RowsAffected() == 0 {
		if _, err := s.GetDocument(ctx, d.Owner, d.ID); err != nil {
			return d, err
		}
		return d, fmt.Errorf("document %q of %s at version %d: %w", d.ID, d.Owner, d.Version, persist.ErrConflict)
	}
	d.Version++
	d.UpdatedAt = now
	return d, nil
}

// DeleteDocument implements persist.Documents. ErrNotFound.
func (s *Store) DeleteDocument(ctx context.Context, owner, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM documents WHERE owner = $1 AND id = $2`, owner, id)
	return oneRow(tag, err, "document", id)
}

func scanDoc(r pgx.Row) (persist.Document, error) {
	var d persist.Document
	var at int64
	err := r.Scan(&d.ID, &d.Owner, &d.Title, &d.Body, &d.Version, &at)
	d.UpdatedAt = fromMS(at)
	return d, err
}

func newDocID() string {
	var b [10]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
