package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"termhost/persist"
)

// CreateUser implements persist.Users.
func (s *Store) CreateUser(ctx context.Context, u persist.User) error {
	keys, _ := json.Marshal(nonNil(u.Keys))
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO users(name, role, keys, password_hash, created_at, login_gen) VALUES(?,?,?,?,?,?)`,
		u.Name, u.Role, string(keys), u.PasswordHash, ms(u.CreatedAt), u.LoginGen)
	if isUnique(err) {
		return fmt.Errorf("user %q: %w", u.Name, persist.ErrExists)
	}
	return err
}

// SignUp implements persist.Users: the admin check and the insert run in
// one immediate transaction (SQLite's write lock), so concurrent signups
// through any number of handles make exactly one first admin (SPEC §7).
func (s *Store) SignUp(ctx context.Context, u persist.User, firstAdmin bool) (persist.User, error) {
	keys, _ := json.Marshal(nonNil(u.Keys))
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.now()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return u, err
	}
	defer tx.Rollback()
	if firstAdmin && u.Role != persist.RoleAdmin {
		var has bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM users WHERE role = ?)`, persist.RoleAdmin).Scan(&has); err != nil {
			return u, err
		}
		if !has {
			u.Role = persist.RoleAdmin
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO users(name, role, keys, password_hash, created_at, login_gen) VALUES(?,?,?,?,?,?)`,
		u.Name, u.Role, string(keys), u.PasswordHash, ms(u.CreatedAt), u.LoginGen)
	if isUnique(err) {
		return u, fmt.Errorf("user %q: %w", u.Name, persist.ErrExists)
	}
	if err != nil {
		return u, err
	}
	return u, tx.Commit()
}

// GetUser implements persist.Users.
func (s *Store) GetUser(ctx context.Context, name string) (persist.User, error) {
	row := s.db.QueryRowContext(ctx, `SELECT name, role, keys, password_hash, created_at, login_gen FROM users WHERE name = ?`, name)
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %q: %w", name, persist.ErrNotFound)
	}
	return u, err
}

// ListUsers implements persist.Users.
func (s *Store) ListUsers(ctx context.Context) ([]persist.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, role, keys, password_hash, created_at, login_gen FROM users ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []persist.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUser implements persist.Users (login_gen only grows).
func (s *Store) UpdateUser(ctx context.Context, u persist.User) error {
	keys, _ := json.Marshal(nonNil(u.Keys))
	res, err := s.db.ExecContext(ctx, `UPDATE users SET role = ?, keys = ?, password_hash = ?, login_gen = max(login_gen, ?) WHERE name = ?`,
		u.Role, string(keys), u.PasswordHash, u.LoginGen, u.Name)
	return oneRow(res, err, "user", u.Name)
}

// HasAdmin implements persist.Users.
func (s *Store) HasAdmin(ctx context.Context) (bool, error) {
	var ok bool
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM users WHERE role = ?)`, persist.RoleAdmin).Scan(&ok)
	return ok, err
}

// ownedRows removes what a user owns (SPEC §7), each statement taking the
// user's name once. A new table of per-user data adds its line here.
var ownedRows = []string{
	`DELETE FROM session_events WHERE session_id IN (SELECT id FROM sessions WHERE owner = ?)`,
	`DELETE FROM snapshots WHERE session_id IN (SELECT id FROM sessions WHERE owner = ?)`,
	`DELETE FROM snapshot_quarantine WHERE session_id IN (SELECT id FROM sessions WHERE owner = ?)`,
	`DELETE FROM sessions WHERE owner = ?`,
	`DELETE FROM documents WHERE owner = ?`,
	`DELETE FROM last_workspaces WHERE owner = ?`,
	`DELETE FROM web_logins WHERE user = ?`,
	`DELETE FROM web_links WHERE user = ?`,
}

// DeleteUser implements persist.Users: the account and everything it owns
// go in one transaction.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, stmt := range ownedRows {
		if _, err := tx.ExecContext(ctx, stmt, name); err != nil {
			return fmt.Errorf("delete user %q: %w", name, err)
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE name = ?`, name)
	gone := oneRow(res, err, "user", name)
	if gone != nil && !errors.Is(gone, persist.ErrNotFound) {
		return gone
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return gone
}

type scanner interface{ Scan(dest ...any) error }

func scanUser(r scanner) (persist.User, error) {
	var u persist.User
	var keys string
	var created int64
	if err := r.Scan(&u.Name, &u.Role, &keys, &u.PasswordHash, &created, &u.LoginGen); err != nil {
		return u, err
	}
	u.CreatedAt = fromMS(created)
	if err := json.Unmarshal([]byte(keys), &u.Keys); err != nil {
		return u, fmt.Errorf("user %q keys: %w", u.Name, err)
	}
	return u, nil
}

func oneRow(res sql.Result, err error, what, id string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s %q: %w", what, id, persist.ErrNotFound)
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
