package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"termhost/persist"
	"termhost/persist/sqlite"
	"termhost/seal"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newSealedLogins(t *testing.T) (*sealedLogins, *sqlite.Store, *testClock) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	k, _ := seal.NewKey(time.Now())
	ring, err := seal.NewRing([]seal.Key{k}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &testClock{t: time.Now()}
	b := newLoginBackend(Config{Store: st, SealedLogins: ring, Now: c.now, LoginIdle: time.Hour, LoginMax: 24 * time.Hour})
	return b.(*sealedLogins), st, c
}

// TestSealedCookieTooLarge: a login cookie over 4096 bytes is refused when
// sealed, with an error that says so, rather than handed to a browser
// that would drop it.
func TestSealedCookieTooLarge(t *testing.T) {
	sl, st, _ := newSealedLogins(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		user   string
		tooBig bool
	}{
		{"ordinary name", "alice", false},
		// Random text does not compress: 5,000 characters seal to > 4 KB.
		{"huge name", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.user
			if tc.tooBig {
				raw := make([]byte, 3750)
				rand.Read(raw)
				name = base64.RawURLEncoding.EncodeToString(raw) // 5,000 characters
			}
			if err := st.CreateUser(ctx, persist.User{Name: name, Role: persist.RoleUser}); err != nil {
				t.Fatal(err)
			}
			tok, _, err := sl.issue(ctx, name, "127.0.0.1:1", "test")
			if tc.tooBig {
				if !errors.Is(err, errCookieTooLarge) || !strings.Contains(err.Error(), "4096") {
					t.Fatalf("err = %v (cookie %d bytes), want errCookieTooLarge naming the limit", err, len(tok))
				}
				return
			}
			if err != nil || len(LoginCookie)+1+len(tok) > maxCookie {
				t.Fatalf("issue: %v, %d bytes", err, len(tok))
			}
		})
	}
}

// TestSealedAliveIgnoresIdle: an open terminal's keep-alive (alive) keeps
// a login whose idle deadline passed — the terminal is use — while a page
// request (check) is refused; both refuse after sign out everywhere.
func TestSealedAliveIgnoresIdle(t *testing.T) {
	sl, st, c := newSealedLogins(t)
	ctx := context.Background()
	if err := st.CreateUser(ctx, persist.User{Name: "alice", Role: persist.RoleUser}); err != nil {
		t.Fatal(err)
	}
	tok, _, err := sl.issue(ctx, "alice", "", "")
	if err != nil {
		t.Fatal(err)
	}
	c.add(2 * time.Hour) // past the 1 h idle limit, within the 24 h one
	tests := []struct {
		name      string
		prep      func()
		check     error
		aliveWant error
	}{
		{"idle past the limit", func() {}, persist.ErrExpired, nil},
		{"signed out everywhere", func() {
			if _, err := sl.revokeAll(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
		}, persist.ErrExpired, errNoLogin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.prep()
			if _, err := sl.check(ctx, tok); !errors.Is(err, tc.check) {
				t.Fatalf("check: %v, want %v", err, tc.check)
			}
			if err := sl.alive(ctx, tok); !errors.Is(err, tc.aliveWant) && !(err == nil && tc.aliveWant == nil) {
				t.Fatalf("alive: %v, want %v", err, tc.aliveWant)
			}
		})
	}
}

// BenchmarkSealedLogin: issuing (sealing) and checking (opening, plus the
// account read from SQLite) a login cookie, and its size (name=value).
func BenchmarkSealedLogin(b *testing.B) {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "t.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	k, _ := seal.NewKey(time.Now())
	ring, _ := seal.NewRing([]seal.Key{k}, nil)
	sl := newLoginBackend(Config{Store: st, SealedLogins: ring, Now: time.Now, LoginIdle: 12 * time.Hour, LoginMax: 7 * 24 * time.Hour}).(*sealedLogins)
	ctx := context.Background()
	if err := st.CreateUser(ctx, persist.User{Name: "alice.example", Role: persist.RoleAdmin}); err != nil {
		b.Fatal(err)
	}
	tok, _, err := sl.issue(ctx, "alice.example", "", "")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("issue", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := sl.issue(ctx, "alice.example", "", ""); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(LoginCookie)+1+len(tok)), "cookie_B")
	})
	b.Run("unseal", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := sl.unseal(tok, true); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check", func(b *testing.B) {
		for b.Loop() {
			if _, err := sl.check(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
