package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"time"

	"termhost/persist"
)

// LoginRequest is one password attempt, from any transport.
type LoginRequest struct {
	Transport string   // "ssh", "telnet", "web": for logs
	User      string   // the name typed
	Password  string   // the password typed
	Remote    net.Addr // the client's real address (after a trusted PROXY header)
	// ConfirmSignup, if set, is called for an unknown name when signup is
	// allowed, before the account is created (telnet asks for the password
	// again). It runs before the attempt takes its turn, so a person typing
	// holds up no one. An error aborts the signup and is returned.
	ConfirmSignup func(ctx context.Context) error
}

// Login is the one password login of every transport (SSH password and
// keyboard-interactive, telnet, web; SPEC §7, §9): it checks req's password
// or, for an unknown name with signup on, creates the account (Signup's
// rules). Around the check it applies, in this order (issue 8 item 5):
//
//  1. one attempt in flight per source: a second attempt from the same
//     source waits for the first to finish;
//  2. for a source not known to the account (it has not logged in to it
//     within KnownFor), the account-wide rate: once the account has
//     FreeAccountFailures failures in Accounts' window (attempts in
//     flight count as failures until answered), every attempt reserves
//     the account's next slot, max(now, last slot + Accounts.DelayAfter(n)),
//     so checks from any number of sources come 1 s, 2 s, 4 s, then 8 s
//     apart. A slot further than Accounts.MaxDelay (8 s) or than ctx's
//     deadline is not taken: the attempt fails at once with ErrThrottled,
//     unchecked and not counted as a guess. A known source (the owner from
//     its usual address) skips this and the account's turn;
//  3. the wait until the later of the slot and the source's own failure
//     delay (doubling, capped: Sources), served holding only the source's
//     own turn, never the account's or anyone else's;
//  4. one check in flight per account, unless the source is known: the
//     account's turn is held for the store read and the hash only, and
//     sources that have not failed on the account go first;
//  5. at most HashSlots password hashes at once on the node.
//
// A success forgets only this source's failures on this account (and the
// account's failures from this source): failures elsewhere keep their
// delay.
//
// Every wait ends with ctx: bound ctx by the login grace. Failures are
// logged here, once for every transport. Errors: ErrDenied (wrong password,
// or an unknown name without signup), ErrThrottled (wrapped), ErrBadName,
// ErrNoPassword and ErrShortPassword (signup), ConfirmSignup's error, ctx's error while
// waiting (wrapped), and store or hash errors wrapped with the user name.
func (a *Authenticator) Login(ctx context.Context, req LoginRequest) (persist.User, error) {
	a.setup()
	if len(req.User) > maxNameBytes {
		// No account has such a name (ValidName: 32 characters); refuse it
		// before anything logs it whole (a 250 KB name made 500 KB lines).
		err := fmt.Errorf("a user name of %d bytes: %w", len(req.User), ErrBadName)
		a.log().Info("login failed", "transport", req.Transport, "user", strings.ToValidUTF8(req.User[:maxNameBytes], "?")+"…", "remote", req.Remote, "err", err)
		if a.Metrics != nil {
			a.Metrics.Login(req.Transport, false)
		}
		return persist.User{}, err
	}
	src := SourceOf(req.Remote)
	u, err := a.login(ctx, req, src)
	if err != nil {
		a.log().Info("login failed", "transport", req.Transport, "user", req.User, "remote", req.Remote, "err", err)
	}
	if a.Metrics != nil {
		a.Metrics.Login(req.Transport, err == nil)
	}
	return u, err
}

// maxNameBytes is the longest user name Login reads: twice the longest
// valid name, so a near miss still shows in the log.
const maxNameBytes = 64

// LoginObserver counts logins for the node's metrics.
type LoginObserver interface {
	Login(transport string, ok bool)
}

// KeyAccepted reports a login by public key on transport, once its
// signature was checked, to Metrics.
func (a *Authenticator) KeyAccepted(transport string) {
	if a.Metrics != nil {
		a.Metrics.Login(transport, true)
	}
}

func (a *Authenticator) login(ctx context.Context, req LoginRequest, src string) (persist.User, error) {
	// A password too short to sign up with is refused by Signup without
	// asking to repeat it (CheckNewPassword).
	if req.ConfirmSignup != nil && a.AllowSignup && ValidName(req.User) == nil && CheckNewPassword(req.Password) == nil {
		_, err := a.Users.GetUser(ctx, req.User)
		if errors.Is(err, persist.ErrNotFound) {
			if err := req.ConfirmSignup(ctx); err != nil {
				a.Sources.Fail(src, req.User)
				return persist.User{}, err
			}
		}
	}

	done, err := a.sourceTurns.acquire(ctx, src, first)
	if err != nil {
		return persist.User{}, fmt.Errorf("login %s: waiting for this address's previous attempt: %w", req.User, err)
	}
	defer done()
	known := a.knownSource(req.User, src)
	wait, prio := a.Sources.Delay(src), first
	answered := false // set once the outcome is recorded; otherwise a reserved slot is handed back
	if !known {
		if a.Accounts.FailedOn(req.User, src) {
			prio = later
		}
		now := a.Sources.Now()
		bound := a.Accounts.MaxDelay
		if dl, ok := ctx.Deadline(); ok {
			bound = min(bound, time.Until(dl)) // a slot after the login grace is no slot
		}
		slot, release, ok := a.rate.reserve(req.User, now, a.Accounts.Failures(req.User), a.Accounts, bound)
		if !ok { // at once: no sleep, no hash, not a guess
			return persist.User{}, fmt.Errorf("login %s: %w", req.User, ErrThrottled)
		}
		defer func() { release(!answered) }()
		wait = max(wait, slot.Sub(now))
	}
	// Served holding only this source's own turn, never the account's
	// (issue 8: guesses sleeping in it locked the owner out).
	if wait > 0 {
		if err := a.Sleep(ctx, wait); err != nil {
			return persist.User{}, fmt.Errorf("login %s: failure delay: %w", req.User, err)
		}
	}
	if !known {
		done, err := a.accountTurns.acquire(ctx, req.User, prio)
		if err != nil {
			return persist.User{}, fmt.Errorf("login %s: waiting for this account's previous attempt: %w", req.User, err)
		}
		defer done()
	}

	u, exists, err := a.check(ctx, req)
	switch {
	case err == nil:
		a.Sources.Succeed(src, req.User)
		a.Accounts.Succeed(req.User, src)
		a.rememberSource(req.User, src)
		answered = true
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		// Cut short (grace, hang-up) before an answer: not a guess.
	case !errors.Is(err, ErrDenied):
		// Not a wrong password: the store failing (an outage), a signup
		// refused. No delay grows from it (attack trial: users retrying
		// through a database outage met 8 s delays after it).
		answered = true
	default:
		a.Sources.Fail(src, req.User)
		if exists && !known {
			a.Accounts.Fail(req.User, src)
		}
		answered = true
	}
	return u, err
}

// check answers one attempt; exists says whether the account was there.
func (a *Authenticator) check(ctx context.Context, req LoginRequest) (u persist.User, exists bool, err error) {
	u, err = a.Users.GetUser(ctx, req.User)
	switch {
	case errors.Is(err, persist.ErrNotFound) && a.AllowSignup:
		if req.Password == "" {
			return u, false, ErrNoPassword
		}
		u, err = a.Signup(ctx, req.User, "", req.Password, req.Remote)
		if errors.Is(err, persist.ErrExists) { // someone else signed up this name meanwhile
			return u, true, ErrDenied
		}
		if err == nil {
			a.log().Info("signed up", "transport", req.Transport, "user", u.Name, "role", u.Role, "remote", req.Remote)
		}
		return u, false, err
	case errors.Is(err, persist.ErrNotFound):
		return u, false, ErrDenied
	case err != nil:
		return u, false, fmt.Errorf("login %s: %w", req.User, err)
	case u.PasswordHash == "":
		return u, true, ErrDenied
	}
	ok, err := a.verify(ctx, u.PasswordHash, req.Password)
	if err != nil {
		return u, true, fmt.Errorf("login %s: %w", req.User, err)
	}
	if !ok {
		return u, true, ErrDenied
	}
	return u, true, nil
}

// Hasher makes and checks password hashes; Argon2id is the real one.
type Hasher interface {
	Hash(password string) (string, error)
	Verify(hash, password string) (bool, error)
}

// Argon2id hashes with HashPassword and VerifyPassword (≈19 MiB each).
type Argon2id struct{}

// Hash implements Hasher.
func (Argon2id) Hash(password string) (string, error) { return HashPassword(password) }

// Verify implements Hasher.
func (Argon2id) Verify(hash, password string) (bool, error) { return VerifyPassword(hash, password) }

// DefaultHashSlots is the default bound on concurrent hashes: two per CPU,
// at most 8 (≈150 MiB of argon2 memory at the stored parameters).
func DefaultHashSlots() int { return min(2*runtime.GOMAXPROCS(0), 8) }

// DefaultKnownFor is how long a source that logged in to an account skips
// that account's queue and delay.
const DefaultKnownFor = 7 * 24 * time.Hour

func (a *Authenticator) hash(ctx context.Context, password string) (string, error) {
	if err := a.hashSlot(ctx); err != nil {
		return "", err
	}
	defer func() { <-a.hashSem }()
	return a.Hasher.Hash(password)
}

func (a *Authenticator) verify(ctx context.Context, hash, password string) (bool, error) {
	if err := a.hashSlot(ctx); err != nil {
		return false, err
	}
	defer func() { <-a.hashSem }()
	return a.Hasher.Verify(hash, password)
}

func (a *Authenticator) hashSlot(ctx context.Context) error {
	select {
	case a.hashSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for a password hashing slot: %w", ctx.Err())
	}
}

// setup fills the zero-valued guard fields with their defaults, once.
func (a *Authenticator) setup() {
	a.once.Do(func() {
		if a.Sources == nil {
			a.Sources = NewLimiter(time.Now)
		}
		if a.Accounts == nil {
			a.Accounts = NewLimiter(a.Sources.Now)
		}
		if a.HashSlots <= 0 {
			a.HashSlots = DefaultHashSlots()
		}
		if a.Hasher == nil {
			a.Hasher = Argon2id{}
		}
		if a.Sleep == nil {
			a.Sleep = sleep
		}
		if a.KnownFor == 0 {
			a.KnownFor = DefaultKnownFor
		}
		a.hashSem = make(chan struct{}, a.HashSlots)
		a.sourceTurns.m = map[string]*turn{}
		a.accountTurns.m = map[string]*turn{}
		a.rate.m = map[string]*slots{}
		a.known = map[string]time.Time{}
	})
}

func (a *Authenticator) log() *slog.Logger {
	if a.Log == nil {
		return slog.Default()
	}
	return a.Log
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func knownKey(user, src string) string { return user + "\x00" + src }

// knownSource reports whether src logged in to user within KnownFor.
func (a *Authenticator) knownSource(user, src string) bool {
	a.knownMu.Lock()
	defer a.knownMu.Unlock()
	at, ok := a.known[knownKey(user, src)]
	return ok && a.Sources.Now().Sub(at) < a.KnownFor
}

func (a *Authenticator) rememberSource(user, src string) {
	a.knownMu.Lock()
	defer a.knownMu.Unlock()
	if len(a.known) >= maxSources {
		a.known = map[string]time.Time{}
	}
	a.known[knownKey(user, src)] = a.Sources.Now()
}
