package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"termhost/persist"
)

const userCols = `name, role, keys, password_hash, created_at, login_gen`

// firstAdminLock serialises signups that may become the first admin, on
// every node (SPEC §7: the rule holds under concurrent logins on several
// nodes; a process mutex would not).
const firstAdminLock = "termhost.first_admin"

// CreateUser implements persist.Users. ErrExists.
func (s *Store) CreateUser(ctx context.Context, u persist.User) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.now()
	}
	return insertUser(ctx, s.pool, u)
}

func insertUser(ctx context.Context, db querier, u persist.User) error {
	keys, _ := json.Marshal(nonNil(u.Keys))
	_, err := db.Exec(ctx, `INSERT INTO users(`+userCols+`) VALUES($1,$2,$3,$4,$5,$6)`,
		u.Name, u.Role, string(keys), u.PasswordHash, ms(u.CreatedAt), u.LoginGen)
	return wrap(err, "user %q", u.Name)
}

// SignUp implements persist.Users: with firstAdmin, a transaction-scoped
// advisory lock makes the admin check and the insert one step across every
// node, so concurrent signups make exactly one first admin. ErrExists.
func (s *Store) SignUp(ctx context.Context, u persist.User, firstAdmin bool) (persist.User, error) {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.now()
	}
	if !firstAdmin || u.Role == persist.RoleAdmin {
		return u, insertUser(ctx, s.pool, u)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+advisoryKey+`)`, firstAdminLock); err != nil {
			return wrap(err, "first-admin lock")
		}
		var has bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS(SELECT 1 FROM users WHERE role = $1)`, persist.RoleAdmin).Scan(&has); err != nil {
			return wrap(err, "has admin")
		}
		if !has {
			u.Role = persist.RoleAdmin
		}
		return insertUser(ctx, tx, u)
	})
	return u, err
}

// GetUser implements persist.Users. ErrNotFound.
func (s *Store) GetUser(ctx context.Context, name string) (persist.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE name = $1`, name))
	return u, wrap(err, "user %q", name)
}

// ListUsers implements persist.Users, ordered by name.
func (s *Store) ListUsers(ctx context.Context) ([]persist.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, wrap(err, "list users")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (persist.User, error) { return scanUser(r) })
	return out, wrap(err, "list users")
}

// UpdateUser implements persist.Users (role, keys, password; login_gen only grows). ErrNotFound.
func (s *Store) UpdateUser(ctx context.Context, u persist.User) error {
	keys, _ := json.Marshal(nonNil(u.Keys))
	tag, err := s.pool.Exec(ctx, `UPDATE users SET role = $1, keys = $2, password_hash = $3, login_gen = GREATEST(login_gen, $5) WHERE name = $4`,
		u.Role, string(keys), u.PasswordHash, u.Name, u.LoginGen)
	return oneRow(tag, err, "user", u.Name)
}

// HasAdmin implements persist.Users.
func (s *Store) HasAdmin(ctx context.Context) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS(SELECT 1 FROM users WHERE role = $1)`, persist.RoleAdmin).Scan(&ok)
	return ok, wrap(err, "has admin")
}

// ownedRows removes what a user owns (SPEC §7), each statement taking the
// user's name as $1. A new table of per-user data adds its line here.
var ownedRows = []string{
	`DELETE FROM session_events WHERE session_id IN (SELECT id FROM sessions WHERE owner = $1)`,
	`DELETE FROM snapshots WHERE session_id IN (SELECT id FROM sessions WHERE owner = $1)`,
	`DELETE FROM snapshot_quarantine WHERE session_id IN (SELECT id FROM sessions WHERE owner = $1)`,
	`DELETE FROM sessions WHERE owner = $1`,
	`DELETE FROM documents WHERE owner = $1`,
	`DELETE FROM last_workspaces WHERE owner = $1`,
	`DELETE FROM web_logins WHERE user_name = $1`,
	`DELETE FROM web_links WHERE user_name = $1`,
}

// DeleteUser implements persist.Users: the account and everything it owns
// go in one transaction. ErrNotFound (after sweeping rows of that name).
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	var gone error
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, stmt := range ownedRows {
			if _, err := tx.Exec(ctx, stmt, name); err != nil {
				return wrap(err, "delete user %q", name)
			}
		}
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE name = $1`, name)
		gone = oneRow(tag, err, "user", name)
		if gone != nil && !errors.Is(gone, persist.ErrNotFound) {
			return gone
		}
		return nil
	})
	if err != nil {
		return err
	}
	return gone
}

func scanUser(r pgx.Row) (persist.User, error) {
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
