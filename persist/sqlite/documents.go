package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"termhost/persist"
)

const docCols = `id, owner, title, body, version, updated_at`

// CreateDocument implements persist.Documents; an empty ID gets a random one.
func (s *Store) CreateDocument(ctx context.Context, d persist.Document) (persist.Document, error) {
	if d.ID == "" {
		d.ID = newDocID()
	}
	d.Version = 1
	d.UpdatedAt = s.now().UTC().Truncate(1e6)
	_, err := s.db.ExecContext(ctx, `INSERT INTO documents(`+docCols+`) VALUES(?,?,?,?,?,?)`,
		d.ID, d.Owner, d.Title, d.Body, d.Version, ms(d.UpdatedAt))
	if isUnique(err) {
		return d, fmt.Errorf("document %q: %w", d.ID, persist.ErrExists)
	}
	return d, err
}

// GetDocument implements persist.Documents; another owner's document is
// reported as not found.
func (s *Store) GetDocument(ctx context.Context, owner, id string) (persist.Document, error) {
	d, err := scanDoc(s.db.QueryRowContext(ctx, `SELECT `+docCols+` FROM documents WHERE owner = ? AND id = ?`, owner, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("document %q of %s: %w", id, owner, persist.ErrNotFound)
	}
	return d, err
}

// ListDocuments implements persist.Documents.
func (s *Store) ListDocuments(ctx context.Context, owner string) ([]persist.Document, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+docCols+` FROM documents WHERE owner = ? ORDER BY title, id`, owner)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []persist.Document
	for rows.Next() {
		d, err := scanDoc(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// SaveDocument implements persist.Documents.
func (s *Store) SaveDocument(ctx context.Context, d persist.Document) (persist.Document, error) {
	now := s.now().UTC().Truncate(1e6)
	res, err := s.db.ExecContext(ctx, `UPDATE documents SET title = ?, body = ?, version = version + 1, updated_at = ? WHERE owner = ? AND id = ? AND version = ?`,
		d.Title, d.Body, ms(now), d.Owner, d.ID, d.Version)
	if err != nil {
		return d, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.GetDocument(ctx, d.Owner, d.ID); err != nil {
			return d, err
		}
		return d, fmt.Errorf("document %q of %s at version %d: %w", d.ID, d.Owner, d.Version, persist.ErrConflict)
	}
	d.Version++
	d.UpdatedAt = now
	return d, nil
}

// DeleteDocument implements persist.Documents.
func (s *Store) DeleteDocument(ctx context.Context, owner, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM documents WHERE owner = ? AND id = ?`, owner, id)
	return oneRow(res, err, "document", id)
}

func scanDoc(r scanner) (persist.Document, error) {
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
