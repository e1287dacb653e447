package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"termhost/auth"
)

// simClock is virtual time for many goroutines: Sleep blocks until every
// goroutine the clock knows of is asleep, then time jumps to the earliest
// wake-up. Goroutines blocked on anything else (a turn, a hash slot) count
// as running, so a login that waited for the account's turn while its
// holder slept would stall the clock (and the test's deadline catches it).
type simClock struct {
	mu       sync.Mutex
	now      time.Time
	running  int
	sleepers []*sleeper
}

type sleeper struct {
	at   time.Time
	wake chan struct{}
}

func newSimClock(goroutines int) *simClock {
	return &simClock{now: time.Unix(1_700_000_000, 0), running: goroutines}
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep waits d of virtual time (ctx is not watched: nothing cancels in
// these tests).
func (c *simClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	s := &sleeper{at: c.now.Add(d), wake: make(chan struct{})}
	c.sleepers = append(c.sleepers, s)
	c.running--
	c.advance()
	c.mu.Unlock()
	<-s.wake
	return ctx.Err()
}

// done tells the clock that a goroutine ended.
func (c *simClock) done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running--
	c.advance()
}

// advance moves time to the earliest wake-up once nobody runs, and wakes
// everyone due. Callers hold c.mu.
func (c *simClock) advance() {
	if c.running > 0 || len(c.sleepers) == 0 {
		return
	}
	next := slices.MinFunc(c.sleepers, func(a, b *sleeper) int { return a.at.Compare(b.at) })
	c.now = next.at
	c.sleepers = slices.DeleteFunc(c.sleepers, func(s *sleeper) bool {
		if s.at.After(c.now) {
			return false
		}
		c.running++
		close(s.wake)
		return true
	})
}

// accountSlots is how many checks the account-wide rate admits within
// window from sources not known to the account, all failing: the first
// FreeAccountFailures at once, then slots DelayAfter(n) apart (1 s, 2 s,
// 4 s, 8 s, … with the defaults).
func accountSlots(l *auth.Limiter, window time.Duration) int {
	n, at := auth.FreeAccountFailures, time.Duration(0)
	for {
		at += l.DelayAfter(n)
		if at > window {
			return n
		}
		n++
	}
}

type attemptKey struct{}

// Issue 8 item 5: one account guessed from many addresses gets checks at
// the account's rate, however many addresses guess, and a refused attempt
// returns at once. Before (a3d4ead), each new address's first guess was
// checked at once: 30 addresses got 30 checks in the first second.
func TestLoginAccountRate(t *testing.T) {
	const window = 5 * time.Second
	tests := []struct {
		name    string
		sources int
		owner   bool // the owner logs in from its usual address 2 s in
	}{
		{name: "one address", sources: 1},
		{name: "30 addresses", sources: 30, owner: true},
		{name: "200 addresses", sources: 200, owner: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			goroutines := tt.sources
			if tt.owner {
				goroutines++
			}
			clk := newSimClock(goroutines)
			h := &hasher{now: clk.Now}
			a, _ := newLogin(t, &clock{}, h, 4, "alice")
			a.Sources, a.Accounts = auth.NewLimiter(clk.Now), auth.NewLimiter(clk.Now)
			home := addr(250)
			a.Sleep = clk.Sleep
			if _, err := a.Login(context.Background(), auth.LoginRequest{User: "alice", Password: "right", Remote: home}); err != nil {
				t.Fatalf("owner's first login: %v", err)
			}
			h.reset()

			var mu sync.Mutex
			slept := map[int]time.Duration{} // by attempt
			a.Sleep = func(ctx context.Context, d time.Duration) error {
				id := ctx.Value(attemptKey{}).(int)
				mu.Lock()
				slept[id] += d
				mu.Unlock()
				return clk.Sleep(ctx, d)
			}
			var throttled []int
			var ownerErr error
			ownerTook := time.Duration(-1)
			start := clk.Now()
			var wg sync.WaitGroup
			for s := range tt.sources {
				wg.Go(func() {
					defer clk.done()
					for i := 0; clk.Now().Sub(start) < window && i < 1000; i++ {
						id := s*1000 + i
						ctx := context.WithValue(context.Background(), attemptKey{}, id)
						_, err := a.Login(ctx, auth.LoginRequest{User: "alice", Password: fmt.Sprintf("guess-%d", id), Remote: sourceAddr(s)})
						if errors.Is(err, auth.ErrThrottled) {
							mu.Lock()
							throttled = append(throttled, id)
							mu.Unlock()
							clk.Sleep(ctx, 100*time.Millisecond) // and try again
						} else if !errors.Is(err, auth.ErrDenied) {
							t.Errorf("guess %d: %v, want ErrDenied or ErrThrottled", id, err)
						}
					}
				})
			}
			if tt.owner {
				wg.Go(func() {
					defer clk.done()
					ctx := context.WithValue(context.Background(), attemptKey{}, -1)
					clk.Sleep(ctx, 2*time.Second)
					before := clk.Now()
					_, ownerErr = a.Login(ctx, auth.LoginRequest{User: "alice", Password: "right", Remote: home})
					ownerTook = clk.Now().Sub(before)
				})
			}
			finished := make(chan struct{})
			go func() { wg.Wait(); close(finished) }()
			select {
			case <-finished:
			case <-time.After(30 * time.Second):
				t.Fatal("the guessing did not finish in 30 s of real time: a login waited for something that was asleep")
			}

			checks := h.within(start, window)
			want := accountSlots(a.Accounts, window)
			t.Logf("%d checks in %s from %d addresses (bound %d), %d attempts refused at once", checks, window, tt.sources, want, len(throttled))
			if checks > want {
				t.Errorf("%d checks of alice's password within %s from %d addresses; want at most %d (the account's rate)", checks, window, tt.sources, want)
			}
			if checks == 0 {
				t.Error("no guess was checked: the attack did not reach the login")
			}
			for _, id := range throttled {
				if slept[id] > 0 {
					t.Errorf("attempt %d waited %s before it was refused; want refused at once", id, slept[id])
				}
			}
			for id, d := range slept {
				if d > a.Accounts.MaxDelay {
					t.Errorf("attempt %d waited %s; want at most %s", id, d, a.Accounts.MaxDelay)
				}
			}
			if tt.owner && (ownerErr != nil || ownerTook != 0) {
				t.Errorf("the owner from its usual address during the guessing: %v after %s; want in at once", ownerErr, ownerTook)
			}
		})
	}
}

// sourceAddr is the i-th guessing address (any i < 65536).
func sourceAddr(i int) net.Addr {
	return &net.TCPAddr{IP: net.IPv4(10, 1, byte(i>>8), byte(i)), Port: 40000}
}

// An attempt cut short while it waits for its slot (hang-up, login grace)
// hands the slot back if no later one was given out, and is not counted:
// the next attempt gets the same slot, not one a delay later.
func TestLoginCancelledSlotHandedBack(t *testing.T) {
	tests := []struct {
		name     string
		cancel   bool
		wantWait time.Duration // of the next attempt
	}{
		{name: "answered attempt keeps its slot", wantWait: 2 * time.Second},
		{name: "cancelled attempt hands it back", cancel: true, wantWait: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk, h := newClock(), &hasher{}
			a, _ := newLogin(t, clk, h, 2, "alice")
			ctx := context.Background()
			for i := range auth.FreeAccountFailures {
				a.Login(ctx, auth.LoginRequest{User: "alice", Password: "guess", Remote: addr(i)})
			}
			real := a.Sleep
			if tt.cancel {
				a.Sleep = func(context.Context, time.Duration) error { return context.Canceled }
			}
			_, err := a.Login(ctx, auth.LoginRequest{User: "alice", Password: "guess", Remote: addr(10)})
			if tt.cancel != errors.Is(err, context.Canceled) {
				t.Fatalf("the first attempt: %v", err)
			}
			a.Sleep = real
			before := len(clk.waits())
			if _, err := a.Login(ctx, auth.LoginRequest{User: "alice", Password: "right", Remote: addr(11)}); err != nil {
				t.Fatalf("the next attempt: %v", err)
			}
			var waited time.Duration
			for _, d := range clk.waits()[before:] {
				waited += d
			}
			if waited != tt.wantWait {
				t.Errorf("the next attempt waited %v, want %v", waited, tt.wantWait)
			}
		})
	}
}

// The account-wide rate keeps an account only while it spaces something:
// ordinary logins, and guesses under FreeAccountFailures, leave nothing
// behind; an account under attack stays until its failures age out.
func TestLoginRateTableStaysSmall(t *testing.T) {
	tests := []struct {
		name     string
		password string
		tries    int // per account
		want     int // accounts held afterwards
	}{
		{name: "logins", password: "right", tries: 3, want: 0},
		{name: "a few wrong passwords", password: "guess", tries: auth.FreeAccountFailures - 1, want: 0},
		{name: "guessing", password: "guess", tries: auth.FreeAccountFailures + 1, want: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var users []string
			for i := range 50 {
				users = append(users, fmt.Sprintf("u%d", i))
			}
			clk := newClock()
			a, _ := newLogin(t, clk, &hasher{}, 2, users...)
			for i, u := range users {
				for j := range tt.tries {
					a.Login(context.Background(), auth.LoginRequest{User: u, Password: tt.password, Remote: sourceAddr(i*10 + j)})
				}
			}
			if got := a.RateEntries(); got != tt.want {
				t.Errorf("the rate holds %d accounts, want %d", got, tt.want)
			}
		})
	}
}
