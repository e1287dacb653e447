// Package auth decides who may log in: public keys, argon2id passwords, the
// signup policy and the first-admin rule of SPEC §7. It knows nothing of
// transports; ssh and telnet both call it.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"termhost/persist"
)

// Errors returned by the Authenticator.
var (
	ErrDenied      = errors.New("permission denied")
	ErrBadName     = errors.New("user names are 1-32 characters: lowercase letters, digits, '-', '_', starting with a letter")
	ErrNoSignup    = errors.New("signup is disabled")
	ErrNoPassword  = errors.New("a password is required")
	ErrKeyRejected = errors.New("not a valid public key")
	// ErrThrottled refuses a password attempt at once, unchecked, when the
	// account has had too many failed logins lately and its next free slot
	// is further away than the attempt may wait (issue 8 item 5; Login).
	ErrThrottled = errors.New("too many failed logins for this account; try again later")
)

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ValidName reports whether name may be a user name.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%q: %w", name, ErrBadName)
	}
	return nil
}

// Users is the part of the store auth needs.
type Users interface {
	GetUser(ctx context.Context, name string) (persist.User, error)
	// SignUp decides the first admin in the store's transaction, so it
	// holds across nodes (persist.Users.SignUp, SPEC §6/§7).
	SignUp(ctx context.Context, u persist.User, firstAdmin bool) (persist.User, error)
}

// Authenticator checks credentials and signs up new users. Its exported
// fields are set before first use; zero values get defaults.
type Authenticator struct {
	Users       Users
	AllowSignup bool
	// NoFirstAdmin turns off the first-admin rule (the first account
	// signed up from a loopback address becomes admin, SPEC §7): a memory
	// node (SPEC §10) forgets its accounts at every restart, so the rule
	// would hand out admin again after each one; its admins come from the
	// config file.
	NoFirstAdmin bool

	// Sources delays the next attempt from a source after failures
	// (doubling, capped); nil: NewLimiter(time.Now).
	Sources *Limiter
	// Accounts counts failures on an account over all sources; its delay
	// curve spaces the account-wide slots of sources not known to the
	// account (Login), and its MaxDelay is the longest such a source waits
	// for one; nil: NewLimiter with Sources' clock.
	Accounts *Limiter
	// HashSlots bounds concurrent password hashes node-wide; 0:
	// DefaultHashSlots.
	HashSlots int
	// Hasher makes and checks password hashes; nil: Argon2id.
	Hasher Hasher
	// Sleep waits out a failure delay (or until ctx ends); nil: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// KnownFor is how long a source that logged in to an account skips that
	// account's queue and delay; 0: DefaultKnownFor.
	KnownFor time.Duration
	// Log receives failed logins and signups; nil: slog.Default.
	Log *slog.Logger
	// Metrics is told every password login's outcome and every accepted
	// public key (SPEC §11); nil: nobody.
	Metrics LoginObserver
	// Signups bounds the accounts one source may sign up (signup_rate,
	// issue 8); nil: no bound.
	Signups *SignupLimit

	// Lock order: source turn → account turn → hash slot (all waits bounded
	// by ctx); rate.mu and knownMu are taken alone, briefly, while holding
	// the source turn; accountMu is taken after hashing, never by a login.
	once         sync.Once
	hashSem      chan struct{} // one token per running hash
	sourceTurns  turns         // one login attempt in flight per source
	accountTurns turns         // one per account (from unknown sources)
	rate         accountRate   // account-wide slots for unknown sources
	knownMu      sync.Mutex    // guards known
	known        map[string]time.Time
	// accountMu serialises self-service read-modify-writes of an account
	// (keys add/del, passwd), so two at once never lose one's update. It is
	// node-local: cluster mode needs a conditional update in the store.
	accountMu sync.Mutex
}

// CheckKey reports whether key may log in as name. For an unknown name with
// signup allowed it returns signup=true: the caller creates the account
// (Signup) only after the client has proved it holds the key.
func (a *Authenticator) CheckKey(ctx context.Context, name string, key gossh.PublicKey) (signup bool, err error) {
	u, err := a.Users.GetUser(ctx, name)
	if errors.Is(err, persist.ErrNotFound) {
		if !a.AllowSignup {
			return false, ErrNoSignup
		}
		if err := ValidName(name); err != nil {
			return false, err
		}
		return true, nil
	}
	if err != nil {
		return false, err
	}
	want := NormalizeKey(key)
	for _, k := range u.Keys {
		if k == want {
			return false, nil
		}
	}
	return false, ErrDenied
}

// Signup creates an account with a key and/or password (SPEC §7). If no
// admin exists yet and remote is a loopback address, the account is an
// admin. Password signups come through Login; a key signup calls Signup
// once the client has proved it holds the key. Hashing takes one of the
// node's hash slots (bounded by ctx). Errors: ErrBadName, persist.ErrExists
// (wrapped) when the name was taken meanwhile, ErrShortPassword (wrapped;
// CheckNewPassword) for a password under MinPasswordLength, ErrSignupLimit (wrapped)
// when the source has used its signups (Signups), ctx's and the store's.
func (a *Authenticator) Signup(ctx context.Context, name, key, password string, remote net.Addr) (persist.User, error) {
	a.setup()
	if err := ValidName(name); err != nil {
		return persist.User{}, err
	}
	if password != "" {
		if err := CheckNewPassword(password); err != nil {
			return persist.User{}, err
		}
	}
	if err := a.Signups.Take(SourceOf(remote)); err != nil {
		return persist.User{}, fmt.Errorf("sign up %s from %s: %w", name, SourceOf(remote), err)
	}
	u := persist.User{Name: name, Role: persist.RoleUser}
	if key != "" {
		u.Keys = []string{key}
	}
	if password != "" {
		h, err := a.hash(ctx, password)
		if err != nil {
			return u, err
		}
		u.PasswordHash = h
	}
	// The first-admin check and the insert are one store transaction:
	// concurrent signups on several nodes make exactly one admin.
	stored, err := a.Users.SignUp(ctx, u, IsLoopback(remote) && !a.NoFirstAdmin)
	if err != nil {
		return u, fmt.Errorf("sign up %s: %w", name, err)
	}
	return stored, nil
}

// NormalizeKey renders a key as "type base64" without a comment.
func NormalizeKey(key gossh.PublicKey) string {
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(key)))
}

// ParseKey parses an authorized_keys line and returns it normalised.
func ParseKey(text string) (string, error) {
	key, _, _, _, err := gossh.ParseAuthorizedKey([]byte(text))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrKeyRejected, err)
	}
	return NormalizeKey(key), nil
}

// IsLoopback reports whether addr is a loopback IP address.
func IsLoopback(addr net.Addr) bool {
	if addr == nil {
		return false
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		host = addr.String()
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SourceOf is the key every per-source rule uses (failure delays, the
// connection rate, unauthenticated caps): an IPv4 address, or an IPv6
// address's /64, since one host usually holds a whole /64.
func SourceOf(addr net.Addr) string {
	if addr == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	ip, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return host
	case ip.Unmap().Is4():
		return ip.Unmap().String()
	case ip.IsLoopback():
		return ip.String()
	}
	p, _ := ip.WithZone("").Prefix(64)
	return p.String()
}
