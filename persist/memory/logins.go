package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"termhost/persist"
)

func cloneLogin(l persist.Login) persist.Login {
	l.CreatedAt, l.LastSeen, l.IdleUntil, l.ExpiresAt = ms(l.CreatedAt), ms(l.LastSeen), ms(l.IdleUntil), ms(l.ExpiresAt)
	return l
}

// CreateLogin implements persist.Logins. ErrExists.
func (s *Store) CreateLogin(ctx context.Context, l persist.Login) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	if _, ok := s.db.logins[l.Hash]; ok {
		return fmt.Errorf("login %s: %w", l.ID(), persist.ErrExists)
	}
	s.db.logins[l.Hash] = cloneLogin(l)
	return nil
}

// GetLogin implements persist.Logins. ErrNotFound.
func (s *Store) GetLogin(ctx context.Context, hash string) (persist.Login, error) {
	if err := s.lock(); err != nil {
		return persist.Login{}, err
	}
	defer s.unlock()
	l, ok := s.db.logins[hash]
	if !ok {
		return l, fmt.Errorf("login %s: %w", persist.Login{Hash: hash}.ID(), persist.ErrNotFound)
	}
	return l, nil
}

// TouchLogin implements persist.Logins. ErrNotFound.
func (s *Store) TouchLogin(ctx context.Context, hash string, lastSeen, idleUntil time.Time) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	l, ok := s.db.logins[hash]
	if !ok {
		return fmt.Errorf("login %s: %w", persist.Login{Hash: hash}.ID(), persist.ErrNotFound)
	}
	l.LastSeen, l.IdleUntil = ms(lastSeen), ms(idleUntil)
	s.db.logins[hash] = l
	return nil
}

// ListLogins implements persist.Logins: user's ("" every user's), newest first.
func (s *Store) ListLogins(ctx context.Context, user string) ([]persist.Login, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	var out []persist.Login
	for _, l := range s.db.logins {
		if user == "" || l.User == user {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b persist.Login) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(a.Hash, b.Hash))
	})
	return out, nil
}

// DeleteLogin implements persist.Logins. ErrNotFound.
func (s *Store) DeleteLogin(ctx context.Context, hash string) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	if _, ok := s.db.logins[hash]; !ok {
		return fmt.Errorf("login %s: %w", persist.Login{Hash: hash}.ID(), persist.ErrNotFound)
	}
	delete(s.db.logins, hash)
	return nil
}

// DeleteUserLogins implements persist.Logins; the user's unused links go too.
func (s *Store) DeleteUserLogins(ctx context.Context, user string) (int, error) {
	if err := s.lock(); err != nil {
		return 0, err
	}
	defer s.unlock()
	return s.db.deleteUserLogins(user), nil
}

func (d *db) deleteUserLogins(user string) int {
	n := 0
	for h, l := range d.logins {
		if l.User == user {
			delete(d.logins, h)
			n++
		}
	}
	for h, l := range d.links {
		if l.User == user {
			delete(d.links, h)
		}
	}
	return n
}

// DeleteExpiredLogins implements persist.Logins.
func (s *Store) DeleteExpiredLogins(ctx context.Context, now time.Time) (int, error) {
	if err := s.lock(); err != nil {
		return 0, err
	}
	defer s.unlock()
	now = ms(now)
	n := 0
	for h, l := range s.db.logins {
		if l.Expired(now) {
			delete(s.db.logins, h)
			n++
		}
	}
	for h, l := range s.db.links {
		if !now.Before(l.ExpiresAt) {
			delete(s.db.links, h)
		}
	}
	return n, nil
}

// CreateLink implements persist.Logins. ErrExists.
func (s *Store) CreateLink(ctx context.Context, l persist.Link) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	if _, ok := s.db.links[l.Hash]; ok {
		return fmt.Errorf("link: %w", persist.ErrExists)
	}
	l.CreatedAt, l.ExpiresAt = ms(l.CreatedAt), ms(l.ExpiresAt)
	s.db.links[l.Hash] = l
	return nil
}

// TakeLink implements persist.Logins: removed under the lock, so a link
// works once. ErrNotFound; ErrExpired (removed all the same).
func (s *Store) TakeLink(ctx context.Context, hash string, now time.Time) (persist.Link, error) {
	if err := s.lock(); err != nil {
		return persist.Link{}, err
	}
	defer s.unlock()
	l, ok := s.db.links[hash]
	if !ok {
		return l, fmt.Errorf("link: %w", persist.ErrNotFound)
	}
	delete(s.db.links, hash)
	if !now.Before(l.ExpiresAt) {
		return l, fmt.Errorf("link for %s: %w", l.User, persist.ErrExpired)
	}
	return l, nil
}
