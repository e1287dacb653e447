package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"termhost/persist"
	"termhost/seal"
)

// web_login: client (SPEC §10). The login cookie is a seal for purpose
// "login" of sealedPayload; the store keeps nothing per login, so any node
// holding the same key ring (seal_keys) accepts it and none can list it.
//
//   - Revocation: the seal carries the user's login generation
//     (persist.User.LoginGen); "sign out everywhere" adds one to it, which
//     ends every cookie of the user on every node at its next request. The
//     account's creation time is inside too, so a deleted and re-created
//     account of the same name starts with no valid cookie; a role change
//     also ends the cookie (sign in again to get the new role). Without a
//     store to hold the generation, rotating and retiring the keys ends every
//     login of every user.
//   - "Sign out" of one browser only clears its cookie: a copy of it taken
//     before stays valid until its idle or absolute expiry, or until a sign
//     out everywhere. That is the price of keeping nothing per login.
//   - Idle expiry: the idle deadline is inside the seal. A request whose
//     cookie was sealed at least touchEvery ago gets it re-sealed with a new
//     idle deadline (renewLogin, before routing); the absolute expiry
//     (web_login_max from sign-in) and the login's id never change, so the
//     CSRF token, derived from the id, stays valid across re-seals. An open
//     terminal's keep-alive checks the seal, generation and account but not
//     the idle deadline: a live terminal is use, as in server mode.
//   - Size: a cookie over maxCookie bytes is refused when sealed
//     (errCookieTooLarge), never handed to a browser that would drop it.

// maxCookie is the largest login cookie sealed, name=value in bytes: the
// 4096 bytes every browser keeps per cookie (RFC 6265 §6.1).
const maxCookie = 4096

// errCookieTooLarge: a sealed login cookie would exceed maxCookie.
var errCookieTooLarge = errors.New("sealed login cookie too large")

// sealedVersion is the version of sealedPayload.
const sealedVersion = 1

// sealedPayload is what a login cookie seals. Times are Unix milliseconds.
type sealedPayload struct {
	V       int    `json:"v"`
	User    string `json:"u"`
	Role    string `json:"r"`
	Account int64  `json:"a"` // the account's CreatedAt: a re-created account is another
	Gen     int64  `json:"g"` // persist.User.LoginGen at sign-in
	ID      string `json:"n"` // 128 random bits, hex: names the login, keys its CSRF token
	Issued  int64  `json:"i"` // sign-in
	Idle    int64  `json:"d"` // idle deadline: refused after it, moved by re-sealing
	Expires int64  `json:"e"` // absolute expiry: sign-in + web_login_max
}

// loginBackend keeps web logins: tokens in the store (web_login: server) or
// sealed cookies (client).
type loginBackend interface {
	// issue starts a login for user and returns the cookie value.
	issue(ctx context.Context, user, remote, userAgent string) (string, persist.Login, error)
	// check returns the login behind token: errNoLogin when it is not one
	// (malformed, revoked), persist.ErrExpired when it expired.
	check(ctx context.Context, token string) (persist.Login, error)
	// alive is check for an open terminal's keep-alive: that use counts.
	alive(ctx context.Context, token string) error
	// csrfKey is what the login's CSRF token is derived from (csrfFor).
	csrfKey(token string, l persist.Login) string
	// revoke ends one login (this browser); revokeAll every login of user.
	revoke(ctx context.Context, l persist.Login) error
	revokeAll(ctx context.Context, user string) (int, error)
}

// newLoginBackend picks the backend cfg asks for: sealed cookies when
// cfg.SealedLogins is set, store tokens otherwise.
func newLoginBackend(cfg Config) loginBackend {
	t := &tokens{store: cfg.Store, now: cfg.Now, idle: cfg.LoginIdle, max: cfg.LoginMax}
	if cfg.SealedLogins == nil {
		return t
	}
	return &sealedLogins{ring: cfg.SealedLogins.WithClock(cfg.Now), users: cfg.Store, tokens: t}
}

// Server mode: the tokens type of logins.go.

func (t *tokens) alive(ctx context.Context, token string) error {
	_, err := t.check(ctx, token)
	return err
}

func (t *tokens) csrfKey(token string, _ persist.Login) string { return token }

func (t *tokens) revoke(ctx context.Context, l persist.Login) error {
	return t.store.DeleteLogin(ctx, l.Hash)
}

func (t *tokens) revokeAll(ctx context.Context, user string) (int, error) {
	return t.store.DeleteUserLogins(ctx, user)
}

// userUpdater is the store's UpdateUser, which records a login generation.
type userUpdater interface {
	UpdateUser(ctx context.Context, u persist.User) error
}

// sealedLogins issues and checks sealed login cookies (web_login: client).
type sealedLogins struct {
	ring   *seal.Ring // on the web layer's clock
	users  Store      // GetUser; UpdateUser (userUpdater) for sign out everywhere
	tokens *tokens    // for now, idle, max and touchEvery
}

func (s *sealedLogins) issue(ctx context.Context, user, remote, userAgent string) (string, persist.Login, error) {
	u, err := s.users.GetUser(ctx, user)
	if err != nil {
		return "", persist.Login{}, fmt.Errorf("sealed login for %s: %w", user, err)
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", persist.Login{}, err
	}
	now := s.tokens.now()
	p := sealedPayload{V: sealedVersion, User: u.Name, Role: u.Role, Account: u.CreatedAt.UnixMilli(), Gen: u.LoginGen,
		ID: hex.EncodeToString(id[:]), Issued: now.UnixMilli(), Idle: now.Add(s.tokens.idle).UnixMilli(), Expires: now.Add(s.tokens.max).UnixMilli()}
	tok, err := s.seal(p)
	return tok, p.login(), err
}

// seal makes the cookie value of p, refusing one over maxCookie.
func (s *sealedLogins) seal(p sealedPayload) (string, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	ttl := time.UnixMilli(p.Expires).Sub(s.tokens.now())
	if ttl <= 0 {
		return "", fmt.Errorf("sealed login for %s: %w", p.User, persist.ErrExpired)
	}
	tok, err := s.ring.Seal("login", data, ttl)
	if err != nil {
		return "", fmt.Errorf("sealed login for %s: %w", p.User, err)
	}
	if n := len(LoginCookie) + 1 + len(tok); n > maxCookie {
		return "", fmt.Errorf("%w: %d bytes for user %q, browsers keep at most %d", errCookieTooLarge, n, p.User, maxCookie)
	}
	return tok, nil
}

func (p sealedPayload) login() persist.Login {
	return persist.Login{Hash: p.ID, User: p.User, CreatedAt: time.UnixMilli(p.Issued),
		IdleUntil: time.UnixMilli(p.Idle), ExpiresAt: time.UnixMilli(p.Expires)}
}

// unseal reads a cookie without the store: errNoLogin unless it is a
// valid seal of a login; persist.ErrExpired past its absolute expiry, or
// its idle deadline when idle is set. It returns when it was sealed too.
func (s *sealedLogins) unseal(token string, idle bool) (sealedPayload, time.Time, error) {
	var p sealedPayload
	o, err := s.ring.OpenDetails("login", token)
	switch {
	case errors.Is(err, seal.ErrExpired):
		return p, time.Time{}, fmt.Errorf("sealed login: %w", persist.ErrExpired)
	case err != nil:
		return p, time.Time{}, errNoLogin // not ours, tampered, or its key retired
	}
	if err := json.Unmarshal(o.Payload, &p); err != nil || p.V != sealedVersion || p.ID == "" {
		return p, o.Issued, errNoLogin
	}
	now := s.tokens.now()
	if !now.Before(time.UnixMilli(p.Expires)) || (idle && !now.Before(time.UnixMilli(p.Idle))) {
		return p, o.Issued, fmt.Errorf("sealed login of %s: %w", p.User, persist.ErrExpired)
	}
	return p, o.Issued, nil
}

// verify holds p against the account as it is now: errNoLogin when it is
// gone, was re-created, changed role or signed out everywhere since.
func (s *sealedLogins) verify(ctx context.Context, p sealedPayload) error {
	u, err := s.users.GetUser(ctx, p.User)
	if errors.Is(err, persist.ErrNotFound) {
		return errNoLogin
	}
	if err != nil {
		return err
	}
	if u.CreatedAt.UnixMilli() != p.Account || u.Role != p.Role || u.LoginGen != p.Gen {
		return errNoLogin
	}
	return nil
}

func (s *sealedLogins) open(ctx context.Context, token string, idle bool) (sealedPayload, time.Time, error) {
	p, sealed, err := s.unseal(token, idle)
	if err == nil {
		err = s.verify(ctx, p)
	}
	return p, sealed, err
}

func (s *sealedLogins) check(ctx context.Context, token string) (persist.Login, error) {
	p, sealed, err := s.open(ctx, token, true)
	if err != nil {
		return persist.Login{}, err
	}
	l := p.login()
	l.LastSeen = sealed
	return l, nil
}

func (s *sealedLogins) alive(ctx context.Context, token string) error {
	_, _, err := s.open(ctx, token, false)
	return err
}

// csrfKey is the login's id, not the cookie: re-sealing changes the cookie.
func (s *sealedLogins) csrfKey(_ string, l persist.Login) string { return "sealed\x00" + l.Hash }

// revoke has nothing to delete: the caller clears the cookie.
func (s *sealedLogins) revoke(context.Context, persist.Login) error { return nil }

// revokeAll moves the user's login generation on: every sealed cookie of
// the user stops opening. It also deletes stored logins, left from a time
// in server mode. It reports 0: sealed logins are not counted anywhere.
func (s *sealedLogins) revokeAll(ctx context.Context, user string) (int, error) {
	u, err := s.users.GetUser(ctx, user)
	if err != nil {
		return 0, err
	}
	up, ok := s.users.(userUpdater)
	if !ok {
		return 0, errors.New("sign out everywhere: this store cannot record a login generation")
	}
	u.LoginGen++
	if err := up.UpdateUser(ctx, u); err != nil {
		return 0, err
	}
	n, err := s.tokens.revokeAll(ctx, user)
	return n, err
}

// renewLogin re-seals a sealed login cookie sealed at least touchEvery ago
// with a new idle deadline (web_login_idle from now): the response sets
// it and the request carries it on, so handlers see the fresh cookie. A
// cookie that does not open is left to the handler, which says why.
func (s *Server) renewLogin(w http.ResponseWriter, r *http.Request) *http.Request {
	sl, ok := s.tokens.(*sealedLogins)
	if !ok {
		return r
	}
	ck, err := r.Cookie(LoginCookie)
	if err != nil || r.Header.Get("Authorization") != "" {
		return r
	}
	p, sealed, err := sl.unseal(ck.Value, true)
	if err != nil || sl.tokens.now().Sub(sealed) < sl.tokens.touchEvery() || sl.verify(r.Context(), p) != nil {
		return r
	}
	p.Idle = sl.tokens.now().Add(sl.tokens.idle).UnixMilli()
	tok, err := sl.seal(p)
	if err != nil {
		s.cfg.Log.Error("re-seal login", "user", p.User, "err", err)
		return r
	}
	s.setLoginCookie(w, r, tok)
	cookies := r.Cookies()
	r = r.Clone(r.Context())
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if c.Name == LoginCookie {
			c.Value = tok
		}
		r.AddCookie(c)
	}
	return r
}
