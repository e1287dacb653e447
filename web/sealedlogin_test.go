package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"termhost/persist"
	"termhost/seal"
	"termhost/sessions"
	"termhost/web"
)

// webLogin is the web_login mode newEnv wires: "server" (store tokens) or
// "client" (sealed cookies). withLogin switches it for one test.
var webLogin = "server"

func withLogin(t *testing.T, mode string) {
	old := webLogin
	webLogin = mode
	t.Cleanup(func() { webLogin = old })
}

// sealedRing is the env's key ring in client mode (one fresh key), nil in
// server mode.
func (e *env) sealedRing() *seal.Ring {
	if webLogin != "client" {
		return nil
	}
	k, err := seal.NewKey(time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if e.ring, err = seal.NewRing([]seal.Key{k}, nil); err != nil {
		e.t.Fatal(err)
	}
	return e.ring
}

// TestClientModeTable runs the web login and terminal table tests written
// for web_login: server again with sealed cookies (SPEC §10): expiry,
// sign-out everywhere, CSRF, Origin, bearer, links, the API. The tests whose
// answer differs by design have client versions below.
func TestClientModeTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"LoginCookie", TestLoginCookie},
		{"LoginExpiry", TestLoginExpiry},
		{"CSRFAndOrigin", TestCSRFAndOrigin},
		{"Unauthenticated", TestUnauthenticated},
		{"WrongPassword", TestWrongPassword},
		{"Bearer", TestBearer},
		{"SignupConfirm", TestSignupConfirm},
		{"SignOutEverywhereRefusesSocket", TestSignOutEverywhereRefusesSocket},
		{"Terminal", TestTerminal},
		{"Weblink", TestWeblink},
		{"API", TestAPI},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withLogin(t, "client")
			tc.run(t)
		})
	}
}

// TestSealedSignOut: sign out everywhere ends every cookie of the user at
// once, on the next request; sign out of this browser clears its cookie,
// but a copy taken before stays valid (nothing is stored per login) until
// it expires or the user signs out everywhere.
func TestSealedSignOut(t *testing.T) {
	tests := []struct {
		name        string
		path        string
		copyStatus  int // the signed-out browser's cookie, copied before
		otherStatus int // alice's other browser
	}{
		{"this browser", "/logout", http.StatusOK, http.StatusOK},
		{"everywhere", "/logout?everywhere=1", http.StatusUnauthorized, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withLogin(t, "client")
			e := newEnv(t)
			e.addUser("alice", persist.RoleUser, "pw-alice")
			e.addUser("bob", persist.RoleUser, "pw-bob")
			here, there, bob := e.browser(), e.browser(), e.browser()
			here.mustSignIn("alice", "pw-alice")
			there.mustSignIn("alice", "pw-alice")
			bob.mustSignIn("bob", "pw-bob")
			tok := here.loginToken()
			if resp, _ := here.post(tt.path, url.Values{"csrf": {here.csrf("/")}}); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("POST %s: %d, want 303", tt.path, resp.StatusCode)
			}
			if here.loginToken() != "" {
				t.Errorf("sign-out left the cookie in the browser")
			}
			if got := bearerStatus(t, e, "/api/me", tok); got != tt.copyStatus {
				t.Errorf("copy of the signed-out cookie: /api/me %d, want %d", got, tt.copyStatus)
			}
			if resp, _ := there.get("/api/me"); resp.StatusCode != tt.otherStatus {
				t.Errorf("alice's other browser: /api/me %d, want %d", resp.StatusCode, tt.otherStatus)
			}
			if resp, _ := bob.get("/api/me"); resp.StatusCode != http.StatusOK {
				t.Errorf("bob's browser: /api/me %d, want 200", resp.StatusCode)
			}
			// Signing in again after sign out everywhere works at once.
			there.mustSignIn("alice", "pw-alice")
			if resp, _ := there.get("/api/me"); resp.StatusCode != http.StatusOK {
				t.Errorf("sign-in after sign-out: /api/me %d, want 200", resp.StatusCode)
			}
		})
	}
}

// TestSealedNoLoginRows: with sealed cookies the store holds no row per
// login — ListLogins is empty, the web_logins table too, and the database
// files hold neither the cookie nor its hash — for sign-ins by form and by
// one-time link, and after re-sealing.
func TestSealedNoLoginRows(t *testing.T) {
	withLogin(t, "client")
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	b.mustSignIn("alice", "pw-alice")
	first := b.loginToken()
	link, err := e.web.Weblink(context.Background(), sessions.User{Name: "alice"}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	b2 := e.browser()
	if resp, _ := b2.get(u.RequestURI()); resp.StatusCode != http.StatusSeeOther || b2.loginToken() == "" {
		t.Fatalf("link sign-in: %d", resp.StatusCode)
	}
	e.clock.Add(2 * time.Minute)
	b.get("/api/me") // re-sealed
	if b.loginToken() == first {
		t.Fatal("cookie not re-sealed after 2 minutes")
	}
	if ls, err := e.store.ListLogins(context.Background(), ""); err != nil || len(ls) != 0 {
		t.Fatalf("ListLogins = %d logins (%v), want none", len(ls), err)
	}
	var n int
	if err := e.store.DB().QueryRow(`SELECT count(*) FROM web_logins`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("web_logins has %d rows (%v), want 0", n, err)
	}
	var db []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		data, _ := os.ReadFile(e.dbPath + suffix)
		db = append(db, data...)
	}
	for _, tok := range []string{first, b.loginToken(), b2.loginToken()} {
		if bytes.Contains(db, []byte(tok)) || bytes.Contains(db, []byte(sha256hex(tok))) {
			t.Fatal("the database files hold a login cookie or its hash")
		}
	}
}

// TestSealedCookie: what makes a sealed cookie stop working, and what it
// looks like (SPEC §9 attributes, under 4 KB).
func TestSealedCookie(t *testing.T) {
	withLogin(t, "client")
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	e.addUser("bob", persist.RoleUser, "pw-bob")
	sign := func(user string) string {
		b := e.browser()
		b.mustSignIn(user, "pw-"+user)
		return b.loginToken()
	}
	tok := sign("alice")
	if n := len(web.LoginCookie) + 1 + len(tok); n > 4096 || n < 100 {
		t.Fatalf("cookie of %d bytes", n)
	} else {
		t.Logf("sealed login cookie: %d bytes (name=value)", n)
	}
	flip := []byte(tok)
	flip[len(flip)/2] ^= 'A' ^ 'B'
	otherKey, _ := seal.NewKey(time.Now())
	ctx := context.Background()
	tests := []struct {
		name   string
		before func() string // returns the cookie to present
		want   int
	}{
		{"valid", func() string { return tok }, http.StatusOK},
		{"tampered", func() string { return string(flip) }, http.StatusUnauthorized},
		{"truncated", func() string { return tok[:len(tok)-4] }, http.StatusUnauthorized},
		{"a server token", func() string { return strings.Repeat("A", 43) }, http.StatusUnauthorized},
		{"sealed for another purpose", func() string {
			s, _ := e.ring.Seal("link", []byte(`{"v":1,"u":"alice"}`), time.Hour)
			return s
		}, http.StatusUnauthorized},
		{"rotated key: old cookie still opens", func() string {
			if err := e.ring.Replace(append([]seal.Key{otherKey}, e.ring.Keys()...)); err != nil {
				t.Fatal(err)
			}
			return tok
		}, http.StatusOK},
		{"retired key", func() string {
			if err := e.ring.Replace([]seal.Key{otherKey}); err != nil {
				t.Fatal(err)
			}
			return tok
		}, http.StatusUnauthorized},
		{"new cookie with the new key", func() string { return sign("alice") }, http.StatusOK},
		{"role changed", func() string {
			tok := sign("bob")
			u, _ := e.store.GetUser(ctx, "bob")
			u.Role = persist.RoleAdmin
			e.store.UpdateUser(ctx, u)
			return tok
		}, http.StatusUnauthorized},
		{"account deleted and made again", func() string {
			tok := sign("alice")
			e.store.DeleteUser(ctx, "alice")
			e.clock.Add(time.Millisecond) // a later creation time
			e.store.CreateUser(ctx, persist.User{Name: "alice", Role: persist.RoleUser, CreatedAt: e.clock.Now()})
			return tok
		}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bearerStatus(t, e, "/api/me", tt.before()); got != tt.want {
				t.Fatalf("/api/me: %d, want %d", got, tt.want)
			}
		})
	}
}

// TestSealedReseal: a request more than touchEvery (1 min here) after the
// cookie was sealed gets a new cookie with a new idle deadline; the CSRF
// token of a page loaded before stays good.
func TestSealedReseal(t *testing.T) {
	withLogin(t, "client")
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	b.mustSignIn("alice", "pw-alice")
	before, csrf := b.loginToken(), b.csrf("/")
	tests := []struct {
		name    string
		advance time.Duration
		renewed bool
	}{
		{"within a minute: same cookie", 30 * time.Second, false},
		{"after a minute: re-sealed", 45 * time.Second, true},
		{"50 minutes later: still signed in", 50 * time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clock.Add(tt.advance)
			old := b.loginToken()
			resp, _ := b.get("/api/me")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/api/me %d", resp.StatusCode)
			}
			if renewed := b.loginToken() != old; renewed != tt.renewed {
				t.Fatalf("re-sealed: %v, want %v", renewed, tt.renewed)
			}
		})
	}
	if b.loginToken() == before {
		t.Fatal("never re-sealed")
	}
	// The page loaded with the first cookie posts with its CSRF token.
	resp, _ := b.post("/logout", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout with the CSRF token of the first cookie: %d, want 303", resp.StatusCode)
	}
}
