package memory

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"slices"
	"strings"

	"termhost/persist"
)

// CreateDocument implements persist.Documents; an empty ID gets a random
// one. ErrExists.
func (s *Store) CreateDocument(ctx context.Context, d persist.Document) (persist.Document, error) {
	if err := s.lock(); err != nil {
		return d, err
	}
	defer s.unlock()
	if d.ID == "" {
		d.ID = newDocID()
	}
	if _, ok := s.db.docs[d.ID]; ok {
		return d, fmt.Errorf("document %q: %w", d.ID, persist.ErrExists)
	}
	d.Version = 1
	d.UpdatedAt = ms(s.db.now())
	s.db.docs[d.ID] = d
	return d, nil
}

// GetDocument implements persist.Documents; another owner's document is
// not found.
func (s *Store) GetDocument(ctx context.Context, owner, id string) (persist.Document, error) {
	if err := s.lock(); err != nil {
		return persist.Document{}, err
	}
	defer s.unlock()
	return s.db.document(owner, id)
}

func (d *db) document(owner, id string) (persist.Document, error) {
	doc, ok := d.docs[id]
	if !ok || doc.Owner != owner {
		return persist.Document{}, fmt.Errorf("document %q of %s: %w", id, owner, persist.ErrNotFound)
	}
	return doc, nil
}

// ListDocuments implements persist.Documents, by title and id.
func (s *Store) ListDocuments(ctx context.Context, owner string) ([]persist.Document, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	var out []persist.Document
	for _, doc := range s.db.docs {
		if doc.Owner == owner {
			out = append(out, doc)
		}
	}
	slices.SortFunc(out, func(a, b persist.Document) int {
		return cmp.Or(strings.Compare(a.Title, b.Title), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// SaveDocument implements persist.Documents. ErrNotFound, ErrConflict.
func (s *Store) SaveDocument(ctx context.Context, d persist.Document) (persist.Document, error) {
	if err := s.lock(); err != nil {
		return d, err
	}
	defer s.unlock()
	cur, err := s.db.document(d.Owner, d.ID)
	if err != nil {
		return d, err
	}
	if cur.Version != d.Version {
		return d, fmt.Errorf("document %q of %s at version %d: %w", d.ID, d.Owner, d.Version, persist.ErrConflict)
	}
	d.Version++
	d.UpdatedAt = ms(s.db.now())
	s.db.docs[d.ID] = d
	return d, nil
}

// DeleteDocument implements persist.Documents. ErrNotFound.
func (s *Store) DeleteDocument(ctx context.Context, owner, id string) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	if _, err := s.db.document(owner, id); err != nil {
		return err
	}
	delete(s.db.docs, id)
	return nil
}

func newDocID() string {
	var b [10]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
