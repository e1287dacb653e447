package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"termhost/persist"
)

func cloneUser(u persist.User) persist.User {
	u.Keys = slices.Clone(u.Keys)
	if u.Keys == nil {
		u.Keys = []string{}
	}
	u.CreatedAt = ms(u.CreatedAt)
	return u
}

// CreateUser implements persist.Users. ErrExists.
func (s *Store) CreateUser(ctx context.Context, u persist.User) error {
	_, err := s.SignUp(ctx, u, false)
	return err
}

// SignUp implements persist.Users: the admin check and the insert happen
// under one lock, so concurrent signups make exactly one first admin.
func (s *Store) SignUp(ctx context.Context, u persist.User, firstAdmin bool) (persist.User, error) {
	if err := s.lock(); err != nil {
		return u, err
	}
	defer s.unlock()
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.db.now()
	}
	if _, ok := s.db.users[u.Name]; ok {
		return u, fmt.Errorf("user %q: %w", u.Name, persist.ErrExists)
	}
	if firstAdmin && u.Role != persist.RoleAdmin && !s.db.hasAdmin() {
		u.Role = persist.RoleAdmin
	}
	s.db.users[u.Name] = cloneUser(u)
	return u, nil
}

// GetUser implements persist.Users. ErrNotFound.
func (s *Store) GetUser(ctx context.Context, name string) (persist.User, error) {
	if err := s.lock(); err != nil {
		return persist.User{}, err
	}
	defer s.unlock()
	u, ok := s.db.users[name]
	if !ok {
		return u, fmt.Errorf("user %q: %w", name, persist.ErrNotFound)
	}
	return cloneUser(u), nil
}

// ListUsers implements persist.Users, by name.
func (s *Store) ListUsers(ctx context.Context) ([]persist.User, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	var out []persist.User
	for _, u := range s.db.users {
		out = append(out, cloneUser(u))
	}
	slices.SortFunc(out, func(a, b persist.User) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// UpdateUser implements persist.Users: role, keys, password and the
// larger login generation. ErrNotFound.
func (s *Store) UpdateUser(ctx context.Context, u persist.User) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	cur, ok := s.db.users[u.Name]
	if !ok {
		return fmt.Errorf("user %q: %w", u.Name, persist.ErrNotFound)
	}
	cur.Role, cur.Keys, cur.PasswordHash = u.Role, u.Keys, u.PasswordHash
	cur.LoginGen = max(cur.LoginGen, u.LoginGen) // only grows: a stale read cannot undo a bump
	s.db.users[u.Name] = cloneUser(cur)
	return nil
}

// HasAdmin implements persist.Users.
func (s *Store) HasAdmin(ctx context.Context) (bool, error) {
	if err := s.lock(); err != nil {
		return false, err
	}
	defer s.unlock()
	return s.db.hasAdmin(), nil
}

func (d *db) hasAdmin() bool {
	for _, u := range d.users {
		if u.Role == persist.RoleAdmin {
			return true
		}
	}
	return false
}

// DeleteUser implements persist.Users: the account and everything it owns
// go under one lock; ErrNotFound after sweeping when there was no account.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	d := s.db
	for _, r := range d.byOwner[name] {
		d.remove(r)
	}
	for id, doc := range d.docs {
		if doc.Owner == name {
			delete(d.docs, id)
		}
	}
	delete(d.lastWS, name)
	d.deleteUserLogins(name)
	if _, ok := d.users[name]; !ok {
		return fmt.Errorf("user %q: %w", name, persist.ErrNotFound)
	}
	delete(d.users, name)
	return nil
}
