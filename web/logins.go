package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"termhost/persist"
	"termhost/sessions"
)

// LoginCookie is the cookie that carries a login token (SPEC §9).
const LoginCookie = "termhost_login"

// csrfCookie carries the sign-in form's CSRF token before there is a login.
const csrfCookie = "termhost_csrf"

// tokenBytes is the randomness of a login or link token: 256 bits (SPEC §9
// asks ≥ 256 for logins and ≥ 128 for links; both get 256).
const tokenBytes = 32

// tokenLen is the length of a token as text (unpadded base64url).
var tokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

// Errors of login checks; the store's persist.ErrExpired is used as is.
var (
	errNoLogin        = errors.New("not signed in")
	errBadCSRF        = errors.New("missing or wrong CSRF token")
	errConfirmSignup  = errors.New("new account: repeat the password to create it")
	errSignupMismatch = errors.New("new account: the passwords differ")
)

// newToken returns a fresh random token and its hash.
func newToken() (token, hash string) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux; a token without entropy must not exist
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token)
}

// hashToken is what the store keeps: lowercase hex SHA-256 of the token text.
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// wellFormed reports whether t could be a token, so that garbage never
// reaches the store.
func wellFormed(t string) bool {
	if len(t) != tokenLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// tokens issues and checks login tokens against the store (web_login: server).
type tokens struct {
	store persist.Logins
	now   func() time.Time
	idle  time.Duration
	max   time.Duration
}

// issue creates a login for user and returns its token; only the hash is stored.
func (t *tokens) issue(ctx context.Context, user, remote, userAgent string) (string, persist.Login, error) {
	tok, hash := newToken()
	now := t.now()
	l := persist.Login{Hash: hash, User: user, CreatedAt: now, LastSeen: now, IdleUntil: now.Add(t.idle),
		ExpiresAt: now.Add(t.max), Remote: remote, UserAgent: truncate(userAgent, 256)}
	if err := t.store.CreateLogin(ctx, l); err != nil {
		return "", l, fmt.Errorf("store login for %s: %w", user, err)
	}
	return tok, l, nil
}

// check returns the login behind token: errNoLogin for an unknown or
// malformed token, persist.ErrExpired for one past its idle or absolute
// expiry (which is then deleted). A use is recorded at most every
// touchEvery, so idle expiry slides without a write per request.
func (t *tokens) check(ctx context.Context, token string) (persist.Login, error) {
	if !wellFormed(token) {
		return persist.Login{}, errNoLogin
	}
	l, err := t.store.GetLogin(ctx, hashToken(token))
	if errors.Is(err, persist.ErrNotFound) {
		return l, errNoLogin
	}
	if err != nil {
		return l, err
	}
	now := t.now()
	if l.Expired(now) {
		_ = t.store.DeleteLogin(ctx, l.Hash)
		return l, fmt.Errorf("login %s of %s: %w", l.ID(), l.User, persist.ErrExpired)
	}
	if now.Sub(l.LastSeen) >= t.touchEvery() {
		l.LastSeen, l.IdleUntil = now, now.Add(t.idle)
		if err := t.store.TouchLogin(ctx, l.Hash, l.LastSeen, l.IdleUntil); err != nil && !errors.Is(err, persist.ErrNotFound) {
			return l, err
		}
	}
	return l, nil
}

// touchEvery bounds how stale LastSeen may be: a minute, or a tenth of the
// idle limit when that is shorter.
func (t *tokens) touchEvery() time.Duration { return min(time.Minute, t.idle/10) }

// caller is who sent a request.
type caller struct {
	user   sessions.User
	login  persist.Login
	token  string
	bearer bool // token came in Authorization, not a cookie: no CSRF needed
	// csrfKey is what the login's CSRF token derives from (csrfFor): the
	// token, or a sealed login's id, which outlives re-sealing.
	csrfKey string
}

// authenticate finds the caller's login from the Authorization: Bearer
// header or the login cookie. errNoLogin when there is none or it is not
// valid (revoked, user deleted), persist.ErrExpired when it expired.
func (s *Server) authenticate(r *http.Request) (caller, error) {
	var c caller
	// The scheme is case-insensitive (RFC 7235 §2.1). Another scheme is
	// not ours (a proxy's Basic auth passed on): the cookie decides.
	if scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "Bearer") {
		c.token, c.bearer = strings.TrimSpace(tok), true
	} else if ck, err := r.Cookie(LoginCookie); err == nil {
		c.token = ck.Value
	} else {
		return c, errNoLogin
	}
	l, err := s.tokens.check(r.Context(), c.token)
	if err != nil {
		return c, err
	}
	u, err := s.cfg.Store.GetUser(r.Context(), l.User)
	if errors.Is(err, persist.ErrNotFound) {
		// The account is gone: so is every login it had.
		_, _ = s.cfg.Store.DeleteUserLogins(r.Context(), l.User)
		return c, errNoLogin
	}
	if err != nil {
		return c, err
	}
	c.login, c.csrfKey = l, s.tokens.csrfKey(c.token, l)
	c.user = sessions.User{Name: u.Name, Admin: u.Role == persist.RoleAdmin}
	return c, nil
}

// setLoginCookie sends token as the login cookie (SPEC §9: HttpOnly,
// SameSite=Lax, Secure when the request came over TLS, Path=/), living as long as the login may.
func (s *Server) setLoginCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: LoginCookie, Value: token, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.cfg.LoginMax / time.Second)})
}

func (s *Server) clearLoginCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: LoginCookie, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// csrfFor is the CSRF token of a login: derived from its token, which only
// the browser holding the HttpOnly cookie knows, so no node needs to store it.
func csrfFor(token string) string {
	h := sha256.Sum256([]byte("termhost csrf\x00" + token))
	return base64.RawURLEncoding.EncodeToString(h[:18])
}

// checkCSRF accepts a state-changing request: its Origin (when sent) must
// be this host, and a cookie-authenticated caller must echo the login's
// CSRF token in the form field "csrf" or the X-CSRF-Token header. Bearer
// callers are scripts: browsers never attach that header on their own.
func (s *Server) checkCSRF(r *http.Request, c caller) error {
	if err := sameOrigin(r); err != nil {
		return err
	}
	if c.bearer {
		return nil
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(csrfFor(c.csrfKey))) != 1 {
		return errBadCSRF
	}
	return nil
}

// sameOrigin refuses a request whose Origin header names another site.
func sameOrigin(r *http.Request) error {
	o := r.Header.Get("Origin")
	if o == "" {
		return nil
	}
	_, host, ok := strings.Cut(o, "://")
	if !ok || !strings.EqualFold(host, r.Host) {
		return fmt.Errorf("origin %q is not %q: %w", o, r.Host, errBadCSRF)
	}
	return nil
}

// preLoginCSRF returns the sign-in form's CSRF token, setting its cookie
// when the browser has none yet (double submit: the form field must
// equal the cookie).
func (s *Server) preLoginCSRF(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(csrfCookie); err == nil && wellFormed(ck.Value) {
		return ck.Value
	}
	tok, _ := newToken()
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: tok, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	return tok
}

func checkPreLoginCSRF(r *http.Request) error {
	if err := sameOrigin(r); err != nil {
		return err
	}
	ck, err := r.Cookie(csrfCookie)
	if err != nil || !wellFormed(ck.Value) {
		return errBadCSRF
	}
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(ck.Value)) != 1 {
		return errBadCSRF
	}
	return nil
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
