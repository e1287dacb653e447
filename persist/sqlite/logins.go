package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"termhost/persist"
)

var _ persist.Logins = (*Store)(nil)

const loginCols = `hash, user, created_at, last_seen, idle_until, expires_at, remote, user_agent`

// CreateLogin implements persist.Logins.
func (s *Store) CreateLogin(ctx context.Context, l persist.Login) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO web_logins(`+loginCols+`) VALUES(?,?,?,?,?,?,?,?)`,
		l.Hash, l.User, ms(l.CreatedAt), ms(l.LastSeen), ms(l.IdleUntil), ms(l.ExpiresAt), l.Remote, l.UserAgent)
	if isUnique(err) {
		return fmt.Errorf("login %s: %w", l.ID(), persist.ErrExists)
	}
	return err
}

// GetLogin implements persist.Logins.
func (s *Store) GetLogin(ctx context.Context, hash string) (persist.Login, error) {
	l, err := scanLogin(s.db.QueryRowContext(ctx, `SELECT `+loginCols+` FROM web_logins WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("login %s: %w", persist.Login{Hash: hash}.ID(), persist.ErrNotFound)
	}
	return l, err
}

// TouchLogin implements persist.Logins.
func (s *Store) TouchLogin(ctx context.Context, hash string, lastSeen, idleUntil time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE web_logins SET last_seen = ?, idle_until = ? WHERE hash = ?`, ms(lastSeen), ms(idleUntil), hash)
	return oneRow(res, err, "login", persist.Login{Hash: hash}.ID())
}

// ListLogins implements persist.Logins.
func (s *Store) ListLogins(ctx context.Context, user string) ([]persist.Login, error) {
	q, args := `SELECT `+loginCols+` FROM web_logins ORDER BY created_at DESC, hash`, []any{}
	if user != "" {
		q, args = `SELECT `+loginCols+` FROM web_logins WHERE user = ? ORDER BY created_at DESC, hash`, []any{user}
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []persist.Login
	for rows.Next() {
		l, err := scanLogin(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// DeleteLogin implements persist.Logins.
func (s *Store) DeleteLogin(ctx context.Context, hash string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM web_logins WHERE hash = ?`, hash)
	return oneRow(res, err, "login", persist.Login{Hash: hash}.ID())
}

// DeleteUserLogins implements persist.Logins; the user's unused links go too.
func (s *Store) DeleteUserLogins(ctx context.Context, user string) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM web_logins WHERE user = ?`, user)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM web_links WHERE user = ?`, user); err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), tx.Commit()
}

// DeleteExpiredLogins implements persist.Logins.
func (s *Store) DeleteExpiredLogins(ctx context.Context, now time.Time) (int, error) {
	t := ms(now)
	res, err := s.db.ExecContext(ctx, `DELETE FROM web_logins WHERE idle_until <= ? OR expires_at <= ?`, t, t)
	if err != nil {
		return 0, err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM web_links WHERE expires_at <= ?`, t); err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// CreateLink implements persist.Logins.
func (s *Store) CreateLink(ctx context.Context, l persist.Link) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO web_links(hash, user, session_id, created_at, expires_at) VALUES(?,?,?,?,?)`,
		l.Hash, l.User, l.SessionID, ms(l.CreatedAt), ms(l.ExpiresAt))
	if isUnique(err) {
		return fmt.Errorf("link: %w", persist.ErrExists)
	}
	return err
}

// TakeLink implements persist.Logins: DELETE … RETURNING makes the read
// and the removal one statement, so a link works once.
func (s *Store) TakeLink(ctx context.Context, hash string, now time.Time) (persist.Link, error) {
	var l persist.Link
	var created, expires int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM web_links WHERE hash = ? RETURNING hash, user, session_id, created_at, expires_at`, hash).
		Scan(&l.Hash, &l.User, &l.SessionID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("link: %w", persist.ErrNotFound)
	}
	if err != nil {
		return l, err
	}
	l.CreatedAt, l.ExpiresAt = fromMS(created), fromMS(expires)
	if !now.Before(l.ExpiresAt) {
		return l, fmt.Errorf("link for %s: %w", l.User, persist.ErrExpired)
	}
	return l, nil
}

func scanLogin(r scanner) (persist.Login, error) {
	var l persist.Login
	var created, seen, idle, expires int64
	if err := r.Scan(&l.Hash, &l.User, &created, &seen, &idle, &expires, &l.Remote, &l.UserAgent); err != nil {
		return l, err
	}
	l.CreatedAt, l.LastSeen, l.IdleUntil, l.ExpiresAt = fromMS(created), fromMS(seen), fromMS(idle), fromMS(expires)
	return l, nil
}
