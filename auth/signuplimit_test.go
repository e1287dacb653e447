package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"termhost/auth"
)

// stepTime is a clock the test moves by hand.
type stepTime struct {
	mu sync.Mutex
	t  time.Time
}

func (s *stepTime) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t
}

func (s *stepTime) add(d time.Duration) {
	s.mu.Lock()
	s.t = s.t.Add(d)
	s.mu.Unlock()
}

// Issue 8 (attack trial): signup created accounts bounded only by
// conn_rate. A source may sign up PerHour accounts at once, then one per
// 1/PerHour hours; other sources are not affected.
func TestSignupLimit(t *testing.T) {
	type step struct {
		after time.Duration // clock moves first
		src   string
		n     int // signups tried
		ok    int // of them allowed
	}
	tests := []struct {
		name    string
		perHour float64
		steps   []step
	}{
		{"ten at once, the 11th refused", 10, []step{{0, "a", 11, 10}}},
		{"one more every six minutes", 10, []step{{0, "a", 10, 10}, {6 * time.Minute, "a", 2, 1}, {time.Hour, "a", 11, 10}}},
		{"sources are apart", 10, []step{{0, "a", 12, 10}, {0, "b", 10, 10}}},
		{"0 is no bound", 0, []step{{0, "a", 1000, 1000}}},
		{"a clock that steps back adds nothing", 2, []step{{time.Hour, "a", 2, 2}, {-time.Hour, "a", 1, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &stepTime{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
			l := auth.NewSignupLimit(tc.perHour, clock.now)
			for i, s := range tc.steps {
				clock.add(s.after)
				ok := 0
				for range s.n {
					err := l.Take(s.src)
					if err == nil {
						ok++
					} else if !errors.Is(err, auth.ErrSignupLimit) {
						t.Fatalf("step %d: %v, want ErrSignupLimit", i, err)
					}
				}
				if ok != s.ok {
					t.Errorf("step %d (%s): %d of %d allowed, want %d", i, s.src, ok, s.n, s.ok)
				}
			}
		})
	}
}

// Signup, by key or password, is refused past the source's signups with
// no account created; another address signs up as usual.
func TestSignupRefusedPastTheLimit(t *testing.T) {
	st := newStore(t)
	clock := &stepTime{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	a := &auth.Authenticator{Users: st, AllowSignup: true, Signups: auth.NewSignupLimit(3, clock.now)}
	ctx := context.Background()
	for i := range 3 {
		if _, err := a.Signup(ctx, fmt.Sprintf("bot%d", i), auth.NormalizeKey(newKey(t)), "", remote); err != nil {
			t.Fatalf("signup %d: %v", i, err)
		}
	}
	_, err := a.Signup(ctx, "bot3", "", "password1", remote)
	if !errors.Is(err, auth.ErrSignupLimit) {
		t.Fatalf("4th signup from %s: %v, want ErrSignupLimit", remote, err)
	}
	if _, err := st.GetUser(ctx, "bot3"); err == nil {
		t.Error("the refused signup created its account")
	}
	other := &net.TCPAddr{IP: net.IPv4(198, 51, 100, 7), Port: 4000}
	if _, err := a.Signup(ctx, "someone", "", "password1", other); err != nil {
		t.Errorf("a signup from another address: %v", err)
	}
	clock.add(20 * time.Minute) // one signup back at 3 an hour
	if _, err := a.Signup(ctx, "bot3", "", "password1", remote); err != nil {
		t.Errorf("a signup after 20 minutes: %v", err)
	}
}
