package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	gossh "golang.org/x/crypto/ssh"

	"termhost/persist"
)

// AccountStore is what self-service needs of the store: read and update
// one's own account.
type AccountStore interface {
	GetUser(ctx context.Context, name string) (persist.User, error)
	UpdateUser(ctx context.Context, u persist.User) error
}

// Errors of self-service (issue 9: `ssh host passwd`, `ssh host keys`).
var (
	ErrLastCredential = errors.New("that is the account's only way in: set a password or add another key first")
	ErrNoSuchKey      = errors.New("no such key on the account")
	ErrTooManyKeys    = errors.New("too many keys")
)

// MaxKeys bounds the public keys of one account (SPEC §7: caps on what one
// user can make the server hold; each add rewrites the whole list).
const MaxKeys = 32

// ChangePassword sets the password of the account req.User, which the
// transport has already authenticated (by key or password). An account
// that has a password must give it as req.Password: it is checked through
// Login, so its delays and queues apply (no second login path). A key-only
// account sets its first password this way, and may then use telnet.
// The account's web sign-ins end with the old password (SetPasswordHash);
// ended is how many stored ones there were.
// Errors: ErrDenied (old password wrong or missing), ErrNoPassword (empty
// new one), ErrShortPassword (wrapped; CheckNewPassword), and Login's, the hash's and the store's.
func (a *Authenticator) ChangePassword(ctx context.Context, store AccountStore, req LoginRequest, newPassword string) (ended int, err error) {
	a.setup()
	if err := CheckNewPassword(newPassword); err != nil {
		return 0, err // before the old one is checked: a retry costs no delay
	}
	u, err := store.GetUser(ctx, req.User)
	if err != nil {
		return 0, err
	}
	if u.PasswordHash != "" {
		if req.Password == "" {
			return 0, fmt.Errorf("the current password is required: %w", ErrDenied)
		}
		if _, err := a.Login(ctx, req); err != nil {
			return 0, err
		}
	}
	h, err := a.hash(ctx, newPassword)
	if err != nil {
		return 0, err
	}
	a.accountMu.Lock()
	defer a.accountMu.Unlock()
	if ended, err = SetPasswordHash(ctx, store, req.User, h); err != nil {
		return ended, err
	}
	a.log().Info("password changed", "transport", req.Transport, "user", req.User, "remote", req.Remote, "web_logins_ended", ended)
	return ended, nil
}

// loginRevoker is the part of a store that keeps web sign-ins (persist.Logins).
type loginRevoker interface {
	DeleteUserLogins(ctx context.Context, user string) (int, error)
}

// SetPasswordHash sets the argon2id hash of name's password (re-reading
// the account, so keys changed meanwhile stay) and ends every web sign-in
// the account has: a browser signed in with the old password (a shared
// machine, a stolen cookie) must not outlive it. Sealed login cookies die
// with the login generation (persist.User.LoginGen, SPEC §10), stored
// logins are deleted when the store keeps them (SPEC §9); ended is how
// many stored ones there were. Errors are the store's.
func SetPasswordHash(ctx context.Context, store AccountStore, name, hash string) (ended int, err error) {
	u, err := store.GetUser(ctx, name)
	if err != nil {
		return 0, err
	}
	u.PasswordHash = hash
	u.LoginGen++
	if err := store.UpdateUser(ctx, u); err != nil {
		return 0, err
	}
	if r, ok := store.(loginRevoker); ok {
		if ended, err = r.DeleteUserLogins(ctx, name); err != nil {
			return 0, fmt.Errorf("password changed, but its web sign-ins could not be ended: %w", err)
		}
	}
	return ended, nil
}

// KeyInfo is one key of an account as `keys list` shows it.
type KeyInfo struct {
	N           int    // 1-based position, for `keys del N`
	Type        string // "ssh-ed25519"
	Fingerprint string // "SHA256:…"
	Comment     string
	Text        string // the authorized_keys line, normalised
}

// Keys lists name's public keys.
func Keys(ctx context.Context, store AccountStore, name string) ([]KeyInfo, error) {
	u, err := store.GetUser(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, 0, len(u.Keys))
	for i, k := range u.Keys {
		ki := KeyInfo{N: i + 1, Text: k}
		if pub, comment, _, _, err := gossh.ParseAuthorizedKey([]byte(k)); err == nil {
			ki.Type, ki.Fingerprint, ki.Comment = pub.Type(), gossh.FingerprintSHA256(pub), comment
		}
		out = append(out, ki)
	}
	return out, nil
}

// AddKey adds an authorized_keys line to name's account; a key it has
// already is no error. It returns the key's fingerprint. Errors:
// ErrKeyRejected (wrapped) and the store's.
func (a *Authenticator) AddKey(ctx context.Context, store AccountStore, name, text string) (string, error) {
	norm, err := ParseKey(text)
	if err != nil {
		return "", err
	}
	pub, _, _, _, _ := gossh.ParseAuthorizedKey([]byte(norm))
	a.accountMu.Lock()
	defer a.accountMu.Unlock()
	u, err := store.GetUser(ctx, name)
	if err != nil {
		return "", err
	}
	if !slices.Contains(u.Keys, norm) && len(u.Keys) >= MaxKeys {
		return "", fmt.Errorf("%w: an account holds at most %d keys", ErrTooManyKeys, MaxKeys)
	}
	if !slices.Contains(u.Keys, norm) {
		u.Keys = append(u.Keys, norm)
		if err := store.UpdateUser(ctx, u); err != nil {
			return "", err
		}
		a.log().Info("key added", "user", name, "key", gossh.FingerprintSHA256(pub))
	}
	return gossh.FingerprintSHA256(pub), nil
}

// DeleteKey removes one of name's keys, named by its number in Keys, its
// fingerprint or its text. The last way into an account (its only key and
// no password) is refused with ErrLastCredential. Errors: ErrNoSuchKey and
// the store's.
func (a *Authenticator) DeleteKey(ctx context.Context, store AccountStore, name, ref string) (string, error) {
	a.accountMu.Lock()
	defer a.accountMu.Unlock()
	keys, err := Keys(ctx, store, name)
	if err != nil {
		return "", err
	}
	ref = strings.TrimSpace(ref)
	norm, _ := ParseKey(ref)
	n, _ := strconv.Atoi(ref)
	match := -1
	for i, k := range keys {
		if k.N == n || k.Fingerprint == ref || (norm != "" && k.Text == norm) {
			match = i
			break
		}
	}
	if match < 0 {
		return "", fmt.Errorf("%q: %w", ref, ErrNoSuchKey)
	}
	u, err := store.GetUser(ctx, name)
	if err != nil {
		return "", err
	}
	if u.PasswordHash == "" && len(u.Keys) == 1 {
		return "", ErrLastCredential
	}
	u.Keys = slices.DeleteFunc(u.Keys, func(k string) bool { return k == keys[match].Text })
	if err := store.UpdateUser(ctx, u); err != nil {
		return "", err
	}
	a.log().Info("key deleted", "user", name, "key", keys[match].Fingerprint)
	return keys[match].Fingerprint, nil
}
