package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"termhost/auth"
	"termhost/persist"
	"termhost/persist/sqlite"
)

var (
	loopback  = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}
	loopback6 = &net.TCPAddr{IP: net.IPv6loopback, Port: 50000}
	remote    = &net.TCPAddr{IP: net.IPv4(203, 0, 113, 9), Port: 50000}
)

func newStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "termhost.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newKey(t *testing.T) gossh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func createUser(t *testing.T, st *sqlite.Store, u persist.User) {
	t.Helper()
	if err := st.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", u.Name, err)
	}
}

func role(t *testing.T, st *sqlite.Store, name string) string {
	t.Helper()
	u, err := st.GetUser(context.Background(), name)
	if err != nil {
		t.Fatalf("GetUser(%s): %v", name, err)
	}
	return u.Role
}

func TestCheckKey(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	known, other := newKey(t), newKey(t)
	createUser(t, st, persist.User{Name: "alice", Role: persist.RoleUser, Keys: []string{auth.NormalizeKey(known)}})
	tests := []struct {
		name       string
		user       string
		key        gossh.PublicKey
		signupOn   bool
		wantSignup bool
		wantErr    error
	}{
		{name: "known key", user: "alice", key: known, signupOn: true},
		{name: "known key, signup off", user: "alice", key: known},
		{name: "unknown key of an existing user", user: "alice", key: other, signupOn: true, wantErr: auth.ErrDenied},
		{name: "new name with signup", user: "bob", key: other, signupOn: true, wantSignup: true},
		{name: "new name without signup", user: "bob", key: other, wantErr: auth.ErrNoSignup},
		{name: "invalid new name", user: "Bob!", key: other, signupOn: true, wantErr: auth.ErrBadName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &auth.Authenticator{Users: st, AllowSignup: tt.signupOn}
			signup, err := a.CheckKey(ctx, tt.user, tt.key)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("CheckKey = %v, want %v", err, tt.wantErr)
			}
			if signup != tt.wantSignup {
				t.Errorf("signup = %v, want %v", signup, tt.wantSignup)
			}
		})
	}
}

func TestLoginAnswers(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	h, _ := auth.HashPassword("s3cret")
	createUser(t, st, persist.User{Name: "alice", Role: persist.RoleUser, PasswordHash: h})
	createUser(t, st, persist.User{Name: "keyonly", Role: persist.RoleUser, Keys: []string{auth.NormalizeKey(newKey(t))}})
	createUser(t, st, persist.User{Name: "broken", Role: persist.RoleUser, PasswordHash: "$argon2id$garbage"})
	tests := []struct {
		name     string
		user     string
		password string
		signupOn bool
		wantErr  error
	}{
		{name: "right", user: "alice", password: "s3cret"},
		{name: "wrong", user: "alice", password: "s3cret ", wantErr: auth.ErrDenied},
		{name: "no password set", user: "keyonly", password: "", wantErr: auth.ErrDenied},
		{name: "corrupt stored hash", user: "broken", password: "x", wantErr: auth.ErrBadHash},
		{name: "unknown, signup off", user: "nobody", password: "x", wantErr: auth.ErrDenied},
		{name: "unknown, signup with empty password", user: "carol", password: "", signupOn: true, wantErr: auth.ErrNoPassword},
		{name: "unknown, signup with a bad name", user: "Carol", password: "x", signupOn: true, wantErr: auth.ErrBadName},
		{name: "unknown, signup creates the account", user: "dave", password: "password1", signupOn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &auth.Authenticator{Users: st, AllowSignup: tt.signupOn}
			_, err := a.Login(ctx, auth.LoginRequest{Transport: "test", User: tt.user, Password: tt.password, Remote: remote})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Login = %v, want %v", err, tt.wantErr)
			}
		})
	}
	// The signed-up account logs in with its password, signup or not.
	a := &auth.Authenticator{Users: st}
	if _, err := a.Login(ctx, auth.LoginRequest{User: "dave", Password: "password1", Remote: remote}); err != nil {
		t.Errorf("signed-up user cannot log in: %v", err)
	}
	if _, err := a.Login(ctx, auth.LoginRequest{User: "dave", Password: "other", Remote: remote}); !errors.Is(err, auth.ErrDenied) {
		t.Errorf("signed-up user with a wrong password: %v", err)
	}
}

// The first account created from loopback while no admin exists is admin;
// nobody else is.
func TestSignupFirstAdmin(t *testing.T) {
	tests := []struct {
		name   string
		steps  []net.Addr // one signup each, names u0, u1, …
		admins []bool     // per step
	}{
		{name: "first from loopback", steps: []net.Addr{loopback, loopback}, admins: []bool{true, false}},
		{name: "first from IPv6 loopback", steps: []net.Addr{loopback6}, admins: []bool{true}},
		{name: "remote first never admin", steps: []net.Addr{remote, remote}, admins: []bool{false, false}},
		{name: "remote then loopback", steps: []net.Addr{remote, loopback, loopback}, admins: []bool{false, true, false}},
		{name: "unknown address", steps: []net.Addr{nil}, admins: []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t)
			a := &auth.Authenticator{Users: st, AllowSignup: true}
			for i, addr := range tt.steps {
				name := fmt.Sprintf("u%d", i)
				if _, err := a.Signup(context.Background(), name, auth.NormalizeKey(newKey(t)), "", addr); err != nil {
					t.Fatalf("Signup(%s): %v", name, err)
				}
				if got := role(t, st, name) == persist.RoleAdmin; got != tt.admins[i] {
					t.Errorf("%s from %v: admin = %v, want %v", name, addr, got, tt.admins[i])
				}
			}
		})
	}
}

func TestSignupExistingAdminBlocksLoopbackAdmin(t *testing.T) {
	st := newStore(t)
	createUser(t, st, persist.User{Name: "root", Role: persist.RoleAdmin})
	a := &auth.Authenticator{Users: st, AllowSignup: true}
	if _, err := a.Signup(context.Background(), "alice", "", "password1", loopback); err != nil {
		t.Fatal(err)
	}
	if role(t, st, "alice") != persist.RoleUser {
		t.Error("a loopback signup became admin although an admin exists")
	}
	if _, err := a.Signup(context.Background(), "alice", "", "password1", loopback); !errors.Is(err, persist.ErrExists) {
		t.Errorf("second signup of one name = %v, want ErrExists", err)
	}
}

// Racing loopback signups produce exactly one admin.
func TestSignupRaceOneAdmin(t *testing.T) {
	st := newStore(t)
	a := &auth.Authenticator{Users: st, AllowSignup: true}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.Signup(context.Background(), fmt.Sprintf("racer%d", i), auth.NormalizeKey(newKey(t)), "", loopback); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	users, _ := st.ListUsers(context.Background())
	admins := 0
	for _, u := range users {
		if u.Role == persist.RoleAdmin {
			admins++
		}
	}
	if len(users) != 8 || admins != 1 {
		t.Errorf("%d users, %d admins; want 8 users and exactly 1 admin", len(users), admins)
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"alice", true}, {"a", true}, {"bob-2_x", true}, {strings.Repeat("a", 32), true},
		{"", false}, {"Alice", false}, {"1abc", false}, {"-x", false}, {"_x", false}, {"a b", false},
		{"a/b", false}, {"ålice", false}, {strings.Repeat("a", 33), false}, {"root\n", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.name), func(t *testing.T) {
			err := auth.ValidName(tt.name)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, auth.ErrBadName)) {
				t.Errorf("ValidName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	k := newKey(t)
	norm := auth.NormalizeKey(k)
	if strings.Contains(norm, "\n") || !strings.HasPrefix(norm, "ssh-ed25519 ") {
		t.Fatalf("NormalizeKey = %q", norm)
	}
	tests := []struct {
		name, text string
		wantErr    bool
	}{
		{name: "with comment", text: norm + " alice@laptop"},
		{name: "with options", text: `no-pty,command="x" ` + norm},
		{name: "trailing newline", text: norm + "\n"},
		{name: "garbage", text: "ssh-ed25519 not-base64", wantErr: true},
		{name: "empty", text: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.ParseKey(tt.text)
			if tt.wantErr {
				if !errors.Is(err, auth.ErrKeyRejected) {
					t.Errorf("ParseKey = %q, %v; want ErrKeyRejected", got, err)
				}
				return
			}
			if err != nil || got != norm {
				t.Errorf("ParseKey = %q, %v; want %q", got, err, norm)
			}
		})
	}
}

func TestAddresses(t *testing.T) {
	tests := []struct {
		name     string
		addr     net.Addr
		loopback bool
		source   string
	}{
		{name: "v4 loopback", addr: loopback, loopback: true, source: "127.0.0.1"},
		{name: "other 127/8", addr: &net.TCPAddr{IP: net.IPv4(127, 1, 2, 3), Port: 1}, loopback: true, source: "127.1.2.3"},
		{name: "v6 loopback", addr: loopback6, loopback: true, source: "::1"},
		{name: "remote", addr: remote, source: "203.0.113.9"},
		{name: "nil", addr: nil, source: ""},
		{name: "unix socket", addr: &net.UnixAddr{Name: "/tmp/x", Net: "unix"}, source: "/tmp/x"},
		{name: "v4-mapped v6", addr: &net.TCPAddr{IP: net.ParseIP("::ffff:198.51.100.4"), Port: 1}, source: "198.51.100.4"},
		{name: "v6 groups by /64", addr: &net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa::7"), Port: 1}, source: "2001:db8:1:2::/64"},
		{name: "another host of the /64", addr: &net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:bbbb::9"), Port: 1}, source: "2001:db8:1:2::/64"},
		{name: "link-local with zone", addr: &net.TCPAddr{IP: net.ParseIP("fe80::1"), Zone: "eth0", Port: 1}, source: "fe80::/64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := auth.IsLoopback(tt.addr); got != tt.loopback {
				t.Errorf("IsLoopback = %v, want %v", got, tt.loopback)
			}
			if got := auth.SourceOf(tt.addr); got != tt.source {
				t.Errorf("SourceOf = %q, want %q", got, tt.source)
			}
		})
	}
}
