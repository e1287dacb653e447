package auth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"termhost/auth"
	"termhost/persist"
	"termhost/persist/sqlite"
)

// clock is a fake clock whose Sleep advances time at once and records how
// long each wait was.
type clock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func newClock() *clock { return &clock{t: time.Unix(1_700_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.slept = append(c.slept, d)
	return ctx.Err()
}

func (c *clock) waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.slept)
}

// hasher stores "plain:" + password and counts how many hashes run at once.
// While gate is open (nil or closed) a hash takes hold. With now set, it
// records when each call for a password starting "guess" began.
type hasher struct {
	hold time.Duration
	gate chan struct{}
	now  func() time.Time

	mu       sync.Mutex
	cur, max int
	calls    int
	at       []time.Time
	entered  chan struct{} // one send per call, if set
}

func (h *hasher) enter(pw string) {
	h.mu.Lock()
	h.cur++
	h.calls++
	h.max = max(h.max, h.cur)
	if h.now != nil && strings.HasPrefix(pw, "guess") {
		h.at = append(h.at, h.now())
	}
	h.mu.Unlock()
	if h.entered != nil {
		h.entered <- struct{}{}
	}
	if h.gate != nil {
		<-h.gate
	}
	time.Sleep(h.hold)
	h.mu.Lock()
	h.cur--
	h.mu.Unlock()
}

func (h *hasher) Hash(pw string) (string, error) { h.enter(pw); return "plain:" + pw, nil }
func (h *hasher) Verify(hash, pw string) (bool, error) {
	h.enter(pw)
	return hash == "plain:"+pw, nil
}

// reset forgets the calls so far.
func (h *hasher) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls, h.max, h.at = 0, 0, nil
}

// within counts the guesses checked from start to start+d.
func (h *hasher) within(start time.Time, d time.Duration) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, at := range h.at {
		if !at.Before(start) && at.Sub(start) <= d {
			n++
		}
	}
	return n
}

func (h *hasher) stats() (maxConcurrent, calls int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.max, h.calls
}

func addr(i int) net.Addr { return &net.TCPAddr{IP: net.IPv4(198, 51, 100, byte(i)), Port: 40000 + i} }

// newLogin wires an Authenticator on a real store with the fake clock and
// the counting hasher; users get password "right".
func newLogin(t *testing.T, clk *clock, h *hasher, slots int, users ...string) (*auth.Authenticator, *sqlite.Store) {
	t.Helper()
	st := newStore(t)
	for _, u := range users {
		createUser(t, st, persist.User{Name: u, Role: persist.RoleUser, PasswordHash: "plain:right"})
	}
	return &auth.Authenticator{
		Users: st, Sources: auth.NewLimiter(clk.Now), Accounts: auth.NewLimiter(clk.Now),
		Hasher: h, HashSlots: slots, Sleep: clk.Sleep, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, st
}

// doubling is the limiter's delay before attempt 2, 3, … n (the first
// waits nothing).
func doubling(n int) []time.Duration {
	var out []time.Duration
	for i := 1; i < n; i++ {
		out = append(out, min(250*time.Millisecond<<(i-1), 8*time.Second))
	}
	return out
}

// Parallel guesses are answered one at a time and each waits the doubled
// delay of all earlier failures: the same guesses per second as one client
// guessing in sequence (before: 60 parallel connections got 35× that).
func TestLoginSerialisesGuesses(t *testing.T) {
	const n = 7
	tests := []struct {
		name      string
		source    func(i int) net.Addr
		account   func(i int) string
		wantWaits []time.Duration
	}{
		{name: "one source, many accounts", source: func(int) net.Addr { return addr(1) }, account: func(i int) string { return fmt.Sprintf("u%d", i) }, wantWaits: doubling(n)},
		// Many sources at one account: TestLoginAccountRate.
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users := []string{"alice"}
			for i := range n {
				users = append(users, fmt.Sprintf("u%d", i))
			}
			// Sequential baseline: one client, one guess after another.
			seqClk, seqH := newClock(), &hasher{}
			seq, _ := newLogin(t, seqClk, seqH, 4, users...)
			start := seqClk.Now()
			for i := range n {
				seq.Login(context.Background(), auth.LoginRequest{User: tt.account(i), Password: "guess", Remote: tt.source(i)})
			}
			seqTime := seqClk.Now().Sub(start)

			clk, h := newClock(), &hasher{hold: time.Millisecond}
			a, _ := newLogin(t, clk, h, 4, users...)
			start = clk.Now()
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					_, err := a.Login(context.Background(), auth.LoginRequest{User: tt.account(i), Password: "guess", Remote: tt.source(i)})
					if !errors.Is(err, auth.ErrDenied) {
						t.Errorf("guess %d: %v, want ErrDenied", i, err)
					}
				})
			}
			wg.Wait()
			parTime := clk.Now().Sub(start)

			if got, want := clk.waits(), tt.wantWaits; !slices.Equal(got, want) {
				t.Errorf("waits = %v, want %v (each guess delayed by all earlier failures)", got, want)
			}
			if m, calls := h.stats(); m != 1 || calls != n {
				t.Errorf("%d hashes, at most %d at once; want %d, one at a time", calls, m, n)
			}
			seqRate, parRate := float64(n)/seqTime.Seconds(), float64(n)/parTime.Seconds()
			t.Logf("guesses/s: sequential %.2f, parallel %.2f", seqRate, parRate)
			if parTime > 0 && parRate > seqRate {
				t.Errorf("parallel guesses/s %.2f > sequential %.2f", parRate, seqRate)
			}
		})
	}
}

// Sources not known to an account share its rate: after
// FreeAccountFailures failures every attempt, from an address that failed
// before or a new one, waits for the account's next slot (the delay
// doubling with its failures); a slot further than the attempt may wait is
// refused at once, unchecked. The owner's known address skips the rate.
// Before (a3d4ead), a new address was never delayed.
func TestLoginAccountDelay(t *testing.T) {
	clk, h := newClock(), &hasher{}
	a, _ := newLogin(t, clk, h, 4, "alice")
	ctx := context.Background()
	home := addr(200)
	if _, err := a.Login(ctx, auth.LoginRequest{User: "alice", Password: "right", Remote: home}); err != nil {
		t.Fatalf("owner's first login: %v", err)
	}
	// Five guesses, one after another, from five addresses: three free,
	// then slots 1 s and 2 s apart (the fake clock's Sleep moves time).
	for i := range 5 {
		a.Login(ctx, auth.LoginRequest{User: "alice", Password: "guess", Remote: addr(i)})
	}
	if got, want := clk.waits(), []time.Duration{time.Second, 2 * time.Second}; !slices.Equal(got, want) {
		t.Fatalf("the five guesses waited %v, want %v", got, want)
	}
	tests := []struct {
		name     string
		remote   net.Addr
		password string
		grace    time.Duration // 0: no deadline
		wantWait time.Duration
		wantErr  error
	}{
		{name: "a source that failed here waits the account's next slot", remote: addr(0), password: "guess", wantWait: 4 * time.Second, wantErr: auth.ErrDenied},
		{name: "and the next one longer", remote: addr(1), password: "right", wantWait: 8 * time.Second},
		{name: "a new source waits the account's slot too", remote: addr(100), password: "right", wantWait: 4 * time.Second},
		{name: "a slot past the login grace is refused at once", remote: addr(101), password: "right", grace: time.Second, wantErr: auth.ErrThrottled},
		{name: "owner's known source is not delayed", remote: home, password: "right"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(clk.waits())
			_, calls := h.stats()
			ctx := ctx
			if tt.grace > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.grace)
				defer cancel()
			}
			_, err := a.Login(ctx, auth.LoginRequest{User: "alice", Password: tt.password, Remote: tt.remote})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Login = %v, want %v", err, tt.wantErr)
			}
			var waited time.Duration
			for _, d := range clk.waits()[before:] {
				waited += d
			}
			if waited != tt.wantWait {
				t.Errorf("waited %v, want %v", waited, tt.wantWait)
			}
			if _, after := h.stats(); tt.wantErr == auth.ErrThrottled && after != calls {
				t.Errorf("a refused attempt was checked (%d hashes)", after-calls)
			}
		})
	}
}

// However many logins run, at most HashSlots hashes run at once (argon2id
// takes ≈19 MiB each: 60 at once took the process past 1 GB).
func TestLoginBoundsConcurrentHashes(t *testing.T) {
	const n, slots = 24, 3
	tests := []struct {
		name  string
		login func(a *auth.Authenticator, i int) error
	}{
		{name: "verifying", login: func(a *auth.Authenticator, i int) error {
			_, err := a.Login(context.Background(), auth.LoginRequest{User: fmt.Sprintf("u%d", i), Password: "right", Remote: addr(i)})
			return err
		}},
		{name: "signing up", login: func(a *auth.Authenticator, i int) error {
			_, err := a.Login(context.Background(), auth.LoginRequest{User: fmt.Sprintf("new%d", i), Password: "password1", Remote: addr(i)})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var users []string
			for i := range n {
				users = append(users, fmt.Sprintf("u%d", i))
			}
			h := &hasher{hold: 3 * time.Millisecond}
			a, _ := newLogin(t, newClock(), h, slots, users...)
			a.AllowSignup = true
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					if err := tt.login(a, i); err != nil {
						t.Errorf("login %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			m, calls := h.stats()
			t.Logf("%d hashes, at most %d at once", calls, m)
			if calls != n || m > slots || m < 2 {
				t.Errorf("%d hashes, at most %d at once; want %d, never more than %d (and more than 1)", calls, m, n, slots)
			}
		})
	}
}

// Every wait of a login (its source's turn, a hash slot, a delay) ends with
// its context, and an attempt cut short is not counted as a failure.
func TestLoginWaitsEndWithContext(t *testing.T) {
	clk := newClock()
	h := &hasher{gate: make(chan struct{}), entered: make(chan struct{}, 4)}
	a, _ := newLogin(t, clk, h, 1, "alice", "bob", "carol")
	blocked := make(chan error, 1)
	go func() { // holds addr(1)'s turn and the only hash slot
		_, err := a.Login(context.Background(), auth.LoginRequest{User: "alice", Password: "right", Remote: addr(1)})
		blocked <- err
	}()
	<-h.entered
	tests := []struct {
		name   string
		user   string
		remote net.Addr
		want   string
	}{
		{name: "same source waits its turn", user: "bob", remote: addr(1), want: "previous attempt"},
		{name: "other source waits a hash slot", user: "carol", remote: addr(2), want: "hashing slot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			_, err := a.Login(ctx, auth.LoginRequest{User: tt.user, Password: "right", Remote: tt.remote})
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Login = %v, want a deadline error about the %s", err, tt.want)
			}
			if d := a.Sources.Delay(auth.SourceOf(tt.remote)); d != 0 {
				t.Errorf("a login cut short counted as a failure: next delay %v", d)
			}
		})
	}
	close(h.gate)
	if err := <-blocked; err != nil {
		t.Errorf("the held login: %v", err)
	}
}

// Signup goes through Login: the transport's confirmation runs first, and a
// refused confirmation creates nothing.
func TestLoginSignup(t *testing.T) {
	errTypo := errors.New("the passwords did not match")
	tests := []struct {
		name        string
		signupOn    bool
		user        string
		confirm     error
		wantErr     error
		wantConfirm bool
		wantAccount bool
	}{
		{name: "confirmed", signupOn: true, user: "dave", wantConfirm: true, wantAccount: true},
		{name: "typo", signupOn: true, user: "dave", confirm: errTypo, wantErr: errTypo, wantConfirm: true},
		{name: "bad name is never confirmed", signupOn: true, user: "Dave!", wantErr: auth.ErrBadName},
		{name: "signup off", user: "dave", wantErr: auth.ErrDenied},
		{name: "existing account is no signup", signupOn: true, user: "alice", wantErr: auth.ErrDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, st := newLogin(t, newClock(), &hasher{}, 2, "alice")
			a.AllowSignup = tt.signupOn
			asked := false
			_, err := a.Login(context.Background(), auth.LoginRequest{User: tt.user, Password: "password1", Remote: remote,
				ConfirmSignup: func(context.Context) error { asked = true; return tt.confirm }})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Login = %v, want %v", err, tt.wantErr)
			}
			if asked != tt.wantConfirm {
				t.Errorf("confirmation asked = %v, want %v", asked, tt.wantConfirm)
			}
			_, gerr := st.GetUser(context.Background(), tt.user)
			if (gerr == nil) != (tt.wantAccount || tt.user == "alice") {
				t.Errorf("account %s exists = %v, want %v", tt.user, gerr == nil, tt.wantAccount)
			}
		})
	}
}

// A success forgets only the failures on the account it logged in to: a
// sprayer that signs up (or logs in to its own account) between guesses
// keeps its doubled delay. Before, any success cleared the source, so
// spraying 60 accounts with a signup between guesses ran at 2.5 guesses/s.
func TestLoginSuccessKeepsOtherFailures(t *testing.T) {
	const fails = 4
	tests := []struct {
		name     string
		success  auth.LoginRequest
		wantWait time.Duration // before the next guess, at another account
	}{
		{name: "signup of a fresh account", success: auth.LoginRequest{User: "fresh", Password: "password1"}, wantWait: 250 * time.Millisecond << (fails - 1)},
		{name: "login to its own account", success: auth.LoginRequest{User: "bob", Password: "right"}, wantWait: 250 * time.Millisecond << (fails - 1)},
		{name: "login to a guessed account forgets that one", success: auth.LoginRequest{User: "u0", Password: "right"}, wantWait: 250 * time.Millisecond << (fails - 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			a, _ := newLogin(t, clk, &hasher{}, 2, "u0", "u1", "u2", "u3", "u4", "bob")
			a.AllowSignup = true
			ctx, src := context.Background(), addr(7)
			for i := range fails { // spraying: one guess per account
				a.Login(ctx, auth.LoginRequest{User: fmt.Sprintf("u%d", i), Password: "guess", Remote: src})
			}
			tt.success.Remote = src
			if _, err := a.Login(ctx, tt.success); err != nil {
				t.Fatalf("the successful login: %v", err)
			}
			before := len(clk.waits())
			a.Login(ctx, auth.LoginRequest{User: "u4", Password: "guess", Remote: src})
			var waited time.Duration
			for _, d := range clk.waits()[before:] {
				waited += d
			}
			if waited != tt.wantWait {
				t.Errorf("the next guess waited %v, want %v", waited, tt.wantWait)
			}
		})
	}
}

// While 31 addresses guess at an account, those with a slot sleep holding
// no turn but their own and the rest are refused at once; the owner from
// its known address gets in at once, and from a new address it is
// answered at once too (in, or refused with ErrThrottled: the account's
// rate does not know it from a guesser), never queued behind the guesses.
// Before the fix of session 3, each guess held the account's turn while it
// slept, so the owner waited for the sum of everyone's delays.
func TestLoginOwnerNotHeldByGuesses(t *testing.T) {
	const guessers = 31
	clk, h := newClock(), &hasher{}
	a, _ := newLogin(t, clk, h, 4, "alice")
	ctx := context.Background()
	home := addr(200)
	if _, err := a.Login(ctx, auth.LoginRequest{User: "alice", Password: "right", Remote: home}); err != nil {
		t.Fatalf("owner's first login: %v", err)
	}
	for i := range guessers { // every guesser has failed once
		a.Login(ctx, auth.LoginRequest{User: "alice", Password: "guess", Remote: addr(i)})
	}
	sleeping, release := make(chan time.Duration, guessers), make(chan struct{})
	a.Sleep = func(ctx context.Context, d time.Duration) error {
		sleeping <- d
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(release)
	gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	refused := make(chan error, guessers)
	for i := range guessers {
		wg.Go(func() {
			if _, err := a.Login(gctx, auth.LoginRequest{User: "alice", Password: "guess", Remote: addr(i)}); err != nil {
				refused <- err
			}
		})
	}
	timeout := time.After(5 * time.Second)
	asleep, throttled := 0, 0
	for asleep+throttled < guessers {
		select {
		case d := <-sleeping:
			asleep++
			if d > a.Accounts.MaxDelay {
				t.Errorf("a guess sleeps %s; want at most %s", d, a.Accounts.MaxDelay)
			}
		case err := <-refused:
			if !errors.Is(err, auth.ErrThrottled) {
				t.Fatalf("a guess ended with %v before its slot; want ErrThrottled", err)
			}
			throttled++
		case <-timeout:
			t.Fatalf("after 5 s, %d of %d guesses sleep and %d were refused; the rest are stuck", asleep, guessers, throttled)
		}
	}
	t.Logf("%d guesses sleep until their slot, %d were refused at once", asleep, throttled)
	tests := []struct {
		name      string
		remote    net.Addr
		throttled bool // may be refused (not known to the account)
	}{
		{name: "owner from a known address", remote: home},
		{name: "owner from a new address", remote: addr(150), throttled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			octx, ocancel := context.WithTimeout(ctx, 2*time.Second)
			defer ocancel()
			start := time.Now()
			_, err := a.Login(octx, auth.LoginRequest{User: "alice", Password: "right", Remote: tt.remote})
			if err != nil && !(tt.throttled && errors.Is(err, auth.ErrThrottled)) {
				t.Fatalf("owner's login while %d addresses guess: %v", guessers, err)
			}
			t.Logf("owner answered in %v: %v", time.Since(start), err)
		})
	}
}

// A store that fails is not a wrong password: retries through a database
// outage grow no failure delay (attack trial: users met 8 s delays after
// the database came back).
func TestStoreErrorsAreNotGuesses(t *testing.T) {
	clk := newClock()
	a, st := newLogin(t, clk, &hasher{}, 2, "alice")
	st.Close() // every store call fails from now on
	for i := range 3 {
		_, err := a.Login(t.Context(), auth.LoginRequest{Transport: "ssh", User: "alice", Password: "right", Remote: addr(1)})
		if err == nil || errors.Is(err, auth.ErrDenied) {
			t.Fatalf("attempt %d on a closed store: %v; want a store error", i, err)
		}
	}
	if d := a.Sources.Delay("198.51.100.1"); d != 0 {
		t.Errorf("source delay after store errors = %s, want 0", d)
	}
}
