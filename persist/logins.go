package persist

import (
	"context"
	"errors"
	"time"
)

// ErrExpired is returned when a login or a link exists but is past its
// expiry (SPEC §9); callers tell the user "your sign-in expired".
var ErrExpired = errors.New("expired")

// Login is one HTTP login session (SPEC §9, `web_login: server`): a browser
// or script signed in as User. Only the SHA-256 of its token is stored, so
// the store never holds anything that signs anyone in.
type Login struct {
	Hash      string    // lowercase hex SHA-256 of the token; the key
	User      string    // account name
	CreatedAt time.Time // sign-in
	LastSeen  time.Time // last request that used it
	IdleUntil time.Time // LastSeen + web_login_idle: refused after this
	ExpiresAt time.Time // CreatedAt + web_login_max: refused after this, whatever the use
	Remote    string    // address it signed in from
	UserAgent string    // browser it signed in with (bounded by the caller)
}

// ID is the short name listings and `termhost logins revoke` use: the
// first 16 hex digits of the hash (the token cannot be recovered from it).
func (l Login) ID() string { return l.Hash[:min(16, len(l.Hash))] }

// Expired reports whether l is refused at now (idle or absolute expiry).
func (l Login) Expired(now time.Time) bool {
	return !now.Before(l.IdleUntil) || !now.Before(l.ExpiresAt)
}

// Link is a one-time sign-in link (SPEC §9 `weblink`): single use, bound to
// a user and a session, stored by the SHA-256 of its token like a Login.
type Link struct {
	Hash      string // lowercase hex SHA-256 of the token
	User      string
	SessionID string // "" opens the user's session list
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Logins stores HTTP login sessions and one-time links (SPEC §9).
type Logins interface {
	// CreateLogin stores a new login; ErrExists if the hash is taken.
	CreateLogin(ctx context.Context, l Login) error
	// GetLogin returns the login with this hash, expired or not; ErrNotFound.
	GetLogin(ctx context.Context, hash string) (Login, error)
	// TouchLogin records a use: LastSeen and IdleUntil; ErrNotFound.
	TouchLogin(ctx context.Context, hash string, lastSeen, idleUntil time.Time) error
	// ListLogins returns user's logins ("" for every user's), newest first.
	ListLogins(ctx context.Context, user string) ([]Login, error)
	// DeleteLogin removes one login (sign out, revoke); ErrNotFound.
	DeleteLogin(ctx context.Context, hash string) error
	// DeleteUserLogins removes every login of user (sign out everywhere,
	// user deletion) and returns how many there were.
	DeleteUserLogins(ctx context.Context, user string) (int, error)
	// DeleteExpiredLogins removes logins and links expired at now and
	// returns how many logins went.
	DeleteExpiredLogins(ctx context.Context, now time.Time) (int, error)

	// CreateLink stores a one-time link; ErrExists if the hash is taken.
	CreateLink(ctx context.Context, l Link) error
	// TakeLink removes the link with this hash and returns it, so that it
	// works once even when two requests race: ErrNotFound if there is none
	// (never issued, or already used), ErrExpired if it was past ExpiresAt
	// at now (it is removed all the same).
	TakeLink(ctx context.Context, hash string, now time.Time) (Link, error)
}
