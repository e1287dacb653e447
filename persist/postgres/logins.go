package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"termhost/persist"
)

const loginCols = `hash, user_name, created_at, last_seen, idle_until, expires_at, remote, user_agent`

// CreateLogin implements persist.Logins. ErrExists.
func (s *Store) CreateLogin(ctx context.Context, l persist.Login) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO web_logins(`+loginCols+`) VALUES($1,$2,$3,$4,$5,$6,$7,$8)`,
		l.Hash, l.User, ms(l.CreatedAt), ms(l.LastSeen), ms(l.IdleUntil), ms(l.ExpiresAt), l.Remote, l.UserAgent)
	return wrap(err, "login %s", l.ID())
}

// GetLogin implements persist.Logins. ErrNotFound.
func (s *Store) GetLogin(ctx context.Context, hash string) (persist.Login, error) {
	l, err := scanLogin(s.pool.QueryRow(ctx, `SELECT `+loginCols+` FROM web_logins WHERE hash = $1`, hash))
	return l, wrap(err, "login %s", persist.Login{Hash: hash}.ID())
}

// TouchLogin implements persist.Logins. ErrNotFound.
func (s *Store) TouchLogin(ctx context.Context, hash string, lastSeen, idleUntil time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE web_logins SET last_seen = $1, idle_until = $2 WHERE hash = $3`, ms(lastSeen), ms(idleUntil), hash)
	return oneRow(tag, err, "login", persist.Login{Hash: hash}.ID())
}

// ListLogins implements persist.Logins, newest first; user "" lists all.
func (s *Store) ListLogins(ctx context.Context, user string) ([]persist.Login, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+loginCols+` FROM web_logins WHERE $1 = '' OR user_name = $1 ORDER BY created_at DESC, hash`, user)
	if err != nil {
		return nil, wrap(err, "logins of %q", user)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (persist.Login, error) { return scanLogin(r) })
	return out, wrap(err, "logins of %q", user)
}

// DeleteLogin implements persist.Logins. ErrNotFound.
func (s *Store) DeleteLogin(ctx context.Context, hash string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM web_logins WHERE hash = $1`, hash)
	return oneRow(tag, err, "login", persist.Login{Hash: hash}.ID())
}

// DeleteUserLogins implements persist.Logins; the user's unused links go too.
func (s *Store) DeleteUserLogins(ctx context.Context, user string) (int, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM web_logins WHERE user_name = $1`, user)
		if err != nil {
			return wrap(err, "delete logins of %q", user)
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `DELETE FROM web_links WHERE user_name = $1`, user)
		return wrap(err, "delete links of %q", user)
	})
	return int(n), err
}

// DeleteExpiredLogins implements persist.Logins.
func (s *Store) DeleteExpiredLogins(ctx context.Context, now time.Time) (int, error) {
	t := ms(now)
	tag, err := s.pool.Exec(ctx, `DELETE FROM web_logins WHERE idle_until <= $1 OR expires_at <= $1`, t)
	if err != nil {
		return 0, wrap(err, "delete expired logins")
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM web_links WHERE expires_at <= $1`, t); err != nil {
		return 0, wrap(err, "delete expired links")
	}
	return int(tag.RowsAffected()), nil
}

// CreateLink implements persist.Logins. ErrExists.
func (s *Store) CreateLink(ctx context.Context, l persist.Link) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO web_links(hash, user_name, session_id, created_at, expires_at) VALUES($1,$2,$3,$4,$5)`,
		l.Hash, l.User, l.SessionID, ms(l.CreatedAt), ms(l.ExpiresAt))
	return wrap(err, "link")
}

// TakeLink implements persist.Logins: DELETE … RETURNING makes the read
// and the removal one statement, so a link works once. ErrNotFound,
// ErrExpired.
func (s *Store) TakeLink(ctx context.Context, hash string, now time.Time) (persist.Link, error) {
	var l persist.Link
	var created, expires int64
	err := s.pool.QueryRow(ctx, `DELETE FROM web_links WHERE hash = $1 RETURNING hash, user_name, session_id, created_at, expires_at`, hash).
		Scan(&l.Hash, &l.User, &l.SessionID, &created, &expires)
	if err != nil {
		return l, wrap(err, "link")
	}
	l.CreatedAt, l.ExpiresAt = fromMS(created), fromMS(expires)
	if !now.Before(l.ExpiresAt) {
		return l, fmt.Errorf("link for %s: %w", l.User, persist.ErrExpired)
	}
	return l, nil
}

func scanLogin(r pgx.Row) (persist.Login, error) {
	var l persist.Login
	var created, seen, idle, expires int64
	if err := r.Scan(&l.Hash, &l.User, &created, &seen, &idle, &expires, &l.Remote, &l.UserAgent); err != nil {
		return l, err
	}
	l.CreatedAt, l.LastSeen, l.IdleUntil, l.ExpiresAt = fromMS(created), fromMS(seen), fromMS(idle), fromMS(expires)
	return l, nil
}
