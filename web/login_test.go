package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"termhost/hostkeys"
	"termhost/persist"
	"termhost/sessions"
	"termhost/sshd"
	"termhost/web"
)

func loginCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == web.LoginCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", web.LoginCookie, resp.Header["Set-Cookie"])
	return nil
}

// TestLoginCookie checks the cookie SPEC §9 asks for: ≥256 random bits,
// HttpOnly, SameSite=Lax, Path=/, Secure exactly under TLS.
func TestLoginCookie(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	tests := []struct {
		name   string
		tls    bool
		secure bool
	}{
		{"plain HTTP", false, false},
		{"TLS", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			if tt.tls {
				ts := httptestTLS(t, e)
				b.e = &env{t: t, ts: ts}
				b.c.Transport = ts.Client().Transport
			}
			resp := b.signIn("alice", "pw-alice", "/")
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign in: status %d, want 303", resp.StatusCode)
			}
			c := loginCookie(t, resp)
			raw, err := base64.RawURLEncoding.DecodeString(c.Value)
			if err != nil || len(raw) < 32 {
				t.Errorf("token %q: %d bytes (%v), want ≥ 32 random bytes", c.Value, len(raw), err)
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != tt.secure {
				t.Errorf("cookie HttpOnly=%v SameSite=%v Path=%q Secure=%v; want HttpOnly, Lax, /, Secure=%v", c.HttpOnly, c.SameSite, c.Path, c.Secure, tt.secure)
			}
			if !tt.tls {
				if _, body := b.get("/?x"); !strings.Contains(body, "not encrypted") {
					t.Errorf("plain HTTP sign-in page does not say the connection is plaintext")
				}
			}
		})
	}
}

// TestTokenRotation: every sign-in issues a new token and ends the one the
// browser had, so a token planted before sign-in is useless (no fixation).
func TestTokenRotation(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	b.mustSignIn("alice", "pw-alice")
	first := b.loginToken()
	b.mustSignIn("alice", "pw-alice")
	second := b.loginToken()
	if first == "" || first == second {
		t.Fatalf("second sign-in kept token %q", first)
	}
	for _, tt := range []struct {
		name  string
		token string
		want  int
	}{
		{"old token refused", first, http.StatusUnauthorized},
		{"new token works", second, http.StatusOK},
		{"garbage refused", "not-a-token", http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := bearerStatus(t, e, "/api/me", tt.token); got != tt.want {
				t.Fatalf("GET /api/me with %s: %d, want %d", tt.name, got, tt.want)
			}
		})
	}
}

func bearerStatus(t *testing.T, e *env, path, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", e.ts.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestTokenHashedAtRest: the database files never hold a token, only its
// SHA-256 (which they must hold, or this test looked in the wrong place).
func TestTokenHashedAtRest(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	b.mustSignIn("alice", "pw-alice")
	tok := b.loginToken()
	link, err := e.web.Weblink(context.Background(), sessions.User{Name: "alice"}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	linkTok := strings.SplitN(link, "t=", 2)[1]
	var db []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		data, err := os.ReadFile(e.dbPath + suffix)
		if err == nil {
			db = append(db, data...)
		}
	}
	sum := sha256.Sum256([]byte(tok))
	for _, tt := range []struct {
		name    string
		needle  string
		present bool
	}{
		{"login token", tok, false},
		{"link token", linkTok, false},
		{"login token's hash", hex.EncodeToString(sum[:]), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := bytes.Contains(db, []byte(tt.needle)); got != tt.present {
				t.Fatalf("database files contain %s: %v, want %v", tt.name, got, tt.present)
			}
		})
	}
}

// TestLoginExpiry uses the injected clock: idle expiry slides with use,
// absolute expiry does not; an expired login leads to the sign-in page
// saying so and back to the page asked for.
func TestLoginExpiry(t *testing.T) {
	tests := []struct {
		name string
		// steps of time; between them the browser uses its login
		steps []time.Duration
		want  int
	}{
		{"fresh", nil, http.StatusOK},
		{"used within the idle limit keeps it", []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute}, http.StatusOK},
		{"idle past the limit", []time.Duration{61 * time.Minute}, http.StatusUnauthorized},
		{"absolute limit despite use", repeat(50*time.Minute, 29), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.addUser("alice", persist.RoleUser, "pw-alice")
			b := e.browser()
			b.mustSignIn("alice", "pw-alice")
			status := http.StatusOK
			for _, d := range tt.steps {
				e.clock.Add(d)
				if resp, _ := b.get("/api/me"); resp.StatusCode != http.StatusOK {
					status = resp.StatusCode
					break
				}
			}
			if status != tt.want {
				t.Fatalf("after %v: /api/me %d, want %d", tt.steps, status, tt.want)
			}
			if tt.want == http.StatusOK {
				return
			}
			resp, _ := b.get("/s/notes")
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "expired=1") || !strings.Contains(loc, "next=%2Fs%2Fnotes") {
				t.Fatalf("expired page request: %d Location %q; want 303 to the sign-in page with expired=1 and next", resp.StatusCode, loc)
			}
			if _, body := b.get(loc); !strings.Contains(body, "Your sign-in expired") {
				t.Fatalf("sign-in page after expiry does not say so:\n%s", body)
			}
			if resp := b.signIn("alice", "pw-alice", "/s/notes"); resp.Header.Get("Location") != "/s/notes" {
				t.Fatalf("sign-in after expiry goes to %q, want back to /s/notes", resp.Header.Get("Location"))
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// TestSignOut: this browser only, or every browser of the user.
func TestSignOut(t *testing.T) {
	tests := []struct {
		name        string
		path        string
		otherStatus int
	}{
		{"this browser", "/logout", http.StatusOK},
		{"everywhere", "/logout?everywhere=1", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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
			if got := bearerStatus(t, e, "/api/me", tok); got != http.StatusUnauthorized {
				t.Errorf("signed-out token: /api/me %d, want 401", got)
			}
			if resp, _ := there.get("/api/me"); resp.StatusCode != tt.otherStatus {
				t.Errorf("alice's other browser: /api/me %d, want %d", resp.StatusCode, tt.otherStatus)
			}
			if resp, _ := bob.get("/api/me"); resp.StatusCode != http.StatusOK {
				t.Errorf("bob's browser: /api/me %d, want 200", resp.StatusCode)
			}
		})
	}
}

// TestCSRFAndOrigin: every state-changing POST needs the page's CSRF token
// (scripts with a Bearer token excepted) and an Origin of this host.
func TestCSRFAndOrigin(t *testing.T) {
	e := newEnv(t)
	e.addUser("root", persist.RoleAdmin, "pw-root")
	b := e.browser()
	b.mustSignIn("root", "pw-root")
	good := b.csrf("/")
	sess, err := e.mgr.Create(context.Background(), sessions.User{Name: "root", Admin: true}, "victim")
	if err != nil {
		t.Fatal(err)
	}
	msg := "/api/sessions/" + sess.ID() + "/message"
	tests := []struct {
		name   string
		path   string
		form   url.Values
		header []string
		bearer bool
		want   int
	}{
		{"logout without token", "/logout", url.Values{}, nil, false, http.StatusForbidden},
		{"logout with a wrong token", "/logout", url.Values{"csrf": {"x" + good}}, nil, false, http.StatusForbidden},
		{"logout from another site", "/logout", url.Values{"csrf": {good}}, []string{"Origin", "http://evil.example"}, false, http.StatusForbidden},
		{"admin form without token", "/admin/sessions/" + sess.ID() + "/kill", url.Values{}, nil, false, http.StatusForbidden},
		{"api with cookie, no header", msg, url.Values{"text": {"hi"}}, nil, false, http.StatusForbidden},
		{"api with cookie and header", msg, url.Values{"text": {"hi"}}, []string{"X-CSRF-Token", good}, false, http.StatusOK},
		{"api with bearer needs no token", msg, url.Values{"text": {"hi"}}, nil, true, http.StatusOK},
		{"api with bearer from another site", msg, url.Values{"text": {"hi"}}, []string{"Origin", "http://evil.example"}, true, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.ts.URL+tt.path, strings.NewReader(tt.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			var resp *http.Response
			if tt.bearer {
				req.Header.Set("Authorization", "Bearer "+b.loginToken())
				r, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				r.Body.Close()
				resp = r
			} else {
				resp, _ = b.do(req)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("POST %s: %d, want %d", tt.path, resp.StatusCode, tt.want)
			}
		})
	}
	if resp, _ := b.get("/api/me"); resp.StatusCode != http.StatusOK {
		t.Fatalf("refused logouts signed the browser out: /api/me %d", resp.StatusCode)
	}
	if infos, _ := e.mgr.List(context.Background(), "root", ""); len(infos) != 1 {
		t.Fatalf("a refused kill killed the session: %d left", len(infos))
	}

	t.Run("sign-in form", func(t *testing.T) {
		fresh := e.browser()
		tok := fresh.csrf("/")
		for _, tt := range []struct {
			name   string
			form   url.Values
			origin string
			want   int
		}{
			{"no token", url.Values{"user": {"root"}, "password": {"pw-root"}}, "", http.StatusForbidden},
			{"token of another browser", url.Values{"csrf": {good}, "user": {"root"}, "password": {"pw-root"}}, "", http.StatusForbidden},
			{"another site", url.Values{"csrf": {tok}, "user": {"root"}, "password": {"pw-root"}}, "http://evil.example", http.StatusForbidden},
			{"right", url.Values{"csrf": {tok}, "user": {"root"}, "password": {"pw-root"}}, e.ts.URL, http.StatusSeeOther},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var h []string
				if tt.origin != "" {
					h = []string{"Origin", tt.origin}
				}
				if resp, _ := fresh.post("/login", tt.form, h...); resp.StatusCode != tt.want {
					t.Fatalf("POST /login: %d, want %d", resp.StatusCode, tt.want)
				}
			})
		}
	})
}

// TestUnauthenticated: the API answers 401, pages go to sign in, the
// WebSocket refuses.
func TestUnauthenticated(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	tests := []struct {
		name   string
		method string
		path   string
		want   int
	}{
		{"me", "GET", "/api/me", http.StatusUnauthorized},
		{"sessions", "GET", "/api/sessions", http.StatusUnauthorized},
		{"all sessions", "GET", "/api/sessions?all=1", http.StatusUnauthorized},
		{"kill", "POST", "/api/sessions/abcdef/kill", http.StatusUnauthorized},
		{"terminal socket", "GET", "/s/new/ws", http.StatusUnauthorized},
		{"terminal page", "GET", "/s/new", http.StatusSeeOther},
		{"admin page", "GET", "/admin", http.StatusSeeOther},
		{"sign-in page", "GET", "/", http.StatusOK},
		{"assets", "GET", "/assets/xterm/xterm.js", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.ts.URL+tt.path, nil)
			if resp, _ := b.do(req); resp.StatusCode != tt.want {
				t.Fatalf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			}
		})
	}
}

// TestWrongPassword: a failed sign-in says so and sets no login.
func TestWrongPassword(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	resp := b.signIn("alice", "wrong", "/")
	if resp.StatusCode != http.StatusUnauthorized || b.loginToken() != "" {
		t.Fatalf("wrong password: %d, token %q; want 401 and no login", resp.StatusCode, b.loginToken())
	}
}

// TestLoginDelaysShared: a wrong password over the web delays the next
// SSH attempt from the same source — a real sshd on the same login path
// (SPEC §9) — and not another source's.
func TestLoginDelaysShared(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	e.addUser("bob", persist.RoleUser, "pw-bob")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	hk, _ := gossh.NewSignerFromKey(priv)
	ssh, err := sshd.Listen(sshd.Config{Addr: "127.0.0.1:0", HostKeys: []hostkeys.Key{{Signer: hk}}, Auth: e.auth, Users: e.store,
		Manager: e.mgr, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	go ssh.Serve()
	t.Cleanup(func() { ssh.Close() })

	b := e.browser()
	if resp := b.signIn("alice", "wrong", "/"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password over the web: %d, want 401", resp.StatusCode)
	}
	e.sleeps.take()
	tests := []struct {
		name  string
		from  string
		delay bool
	}{
		{"another source", "127.0.0.2", false},
		{"the same source", "127.0.0.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(tt.from)}, Timeout: wait}
			conn, err := d.Dial("tcp", ssh.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			c, chans, reqs, err := gossh.NewClientConn(conn, ssh.Addr().String(), &gossh.ClientConfig{User: "bob",
				Auth: []gossh.AuthMethod{gossh.Password("pw-bob")}, HostKeyCallback: gossh.FixedHostKey(hk.PublicKey()), Timeout: wait})
			if err != nil {
				t.Fatalf("ssh login as bob from %s: %v", tt.from, err)
			}
			gossh.NewClient(c, chans, reqs).Close()
			waited := e.sleeps.take()
			if got := len(waited) > 0; got != tt.delay {
				t.Fatalf("ssh login from %s waited %v; want a delay: %v", tt.from, waited, tt.delay)
			}
		})
	}
}

// TestBearer: scripts send the same token as Authorization: Bearer.
func TestBearer(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	b.mustSignIn("alice", "pw-alice")
	if got := bearerStatus(t, e, "/api/sessions", b.loginToken()); got != http.StatusOK {
		t.Fatalf("bearer /api/sessions: %d, want 200", got)
	}
}

func httptestTLS(t *testing.T, e *env) *httptest.Server {
	t.Helper()
	ts := httptest.NewTLSServer(e.web)
	t.Cleanup(ts.Close)
	return ts
}

// TestSignupConfirm: an unknown name makes an account only when its
// password is typed twice, as over telnet, so a mistyped name makes none.
func TestSignupConfirm(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.get("/")
	tests := []struct {
		name    string
		again   string
		status  int
		page    string
		account bool
	}{
		{"first asks to repeat", "", http.StatusUnauthorized, `name="password2"`, false},
		{"a different password", "other", http.StatusUnauthorized, "The passwords differ", false},
		{"the same password", "pw-carol", http.StatusSeeOther, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"csrf": {b.cookie("termhost_csrf")}, "user": {"carol"}, "password": {"pw-carol"}, "next": {"/"}}
			if tt.again != "" {
				form.Set("password2", tt.again)
			}
			resp, body := b.post("/login", form)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.page) {
				t.Fatalf("POST /login: %d, want %d with %q:\n%s", resp.StatusCode, tt.status, tt.page, body)
			}
			_, err := e.store.GetUser(context.Background(), "carol")
			if (err == nil) != tt.account {
				t.Fatalf("account carol exists: %v, want %v", err == nil, tt.account)
			}
		})
	}
}

// TestSweepExpired: expired logins and links leave the store, live ones stay.
func TestSweepExpired(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	old, fresh := e.browser(), e.browser()
	old.mustSignIn("alice", "pw-alice")
	if _, err := e.web.Weblink(context.Background(), sessions.User{Name: "alice"}, "", nil); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(61 * time.Minute) // past web_login_idle (1h here) and the link's 60 s
	fresh.mustSignIn("alice", "pw-alice")
	n, err := e.web.SweepExpired(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("SweepExpired = %d, %v; want 1 login", n, err)
	}
	ls, _ := e.store.ListLogins(context.Background(), "alice")
	if len(ls) != 1 || ls[0].Hash != sha256hex(fresh.loginToken()) {
		t.Fatalf("after the sweep alice has %d logins; want only the fresh one", len(ls))
	}
}

func sha256hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// downStore is the real store whose login lookups fail, as when the
// database is unreachable.
type downStore struct{ web.Store }

func (downStore) GetLogin(ctx context.Context, hash string) (persist.Login, error) {
	return persist.Login{}, errors.New("database unreachable")
}

// TestStoreDownKeepsLogin: a store that does not answer is not a signed-out
// browser: pages answer 503 and the cookie stays.
func TestStoreDownKeepsLogin(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	b.mustSignIn("alice", "pw-alice")
	down := httptest.NewServer(web.New(web.Config{Store: downStore{e.store}, Manager: e.mgr, Now: e.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(down.Close)
	for _, tt := range []struct {
		name, path string
		want       int
	}{
		{"home", "/", http.StatusServiceUnavailable},
		{"terminal page", "/s/new", http.StatusServiceUnavailable},
		{"api", "/api/me", http.StatusServiceUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", down.URL+tt.path, nil)
			req.AddCookie(&http.Cookie{Name: web.LoginCookie, Value: b.loginToken()})
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("GET %s with the store down: %d, want %d", tt.path, resp.StatusCode, tt.want)
			}
			for _, c := range resp.Cookies() {
				if c.Name == web.LoginCookie {
					t.Fatalf("GET %s with the store down cleared the login cookie", tt.path)
				}
			}
		})
	}
}

// TestSessionsPageListsSignInAddresses: the user's own sign-ins show the
// address they came from without the browser's ephemeral port.
func TestSessionsPageListsSignInAddresses(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	b.mustSignIn("alice", "pw-alice")
	ls, err := e.store.ListLogins(context.Background(), "alice")
	if err != nil || len(ls) != 1 {
		t.Fatalf("ListLogins = %d, %v; want 1", len(ls), err)
	}
	host, port, err := net.SplitHostPort(ls[0].Remote)
	if err != nil {
		t.Fatalf("stored remote %q: %v", ls[0].Remote, err)
	}
	_, body := b.get("/")
	if !strings.Contains(body, "<td>"+host+"</td>") {
		t.Errorf("sessions page does not list the sign-in from %s:\n%s", host, body)
	}
	if strings.Contains(body, ls[0].Remote) || strings.Contains(body, ":"+port+"<") {
		t.Errorf("sessions page shows the browser's port %s:\n%s", port, body)
	}
}

// TestBearerScheme: the Authorization scheme is case-insensitive (RFC 7235
// §2.1); another scheme is no login.
func TestBearerScheme(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	b.mustSignIn("alice", "pw-alice")
	tok := b.loginToken()
	// A page asked with a bad token answers a script 401, not the
	// sign-in page's redirect.
	for _, page := range []struct{ method, path string }{{"POST", "/s/new"}, {"GET", "/"}, {"GET", "/admin"}} {
		req, _ := http.NewRequest(page.method, e.ts.URL+page.path, nil)
		req.Header.Set("Authorization", "Bearer bogus")
		if resp, _ := b.do(req); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s with a bad Bearer token: %d, want 401", page.method, page.path, resp.StatusCode)
		}
	}
	// Another scheme is not ours (nginx auth_basic passes its header on):
	// the browser's cookie still signs it in.
	req, _ := http.NewRequest("GET", e.ts.URL+"/api/me", nil)
	req.Header.Set("Authorization", "Basic YWxpY2U6eA==")
	if resp, body := b.do(req); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"alice"`) {
		t.Errorf("GET /api/me with Basic auth and the login cookie: %d %s, want alice", resp.StatusCode, body)
	}
	for _, tt := range []struct {
		header string
		want   int
	}{
		{"Bearer " + tok, http.StatusOK},
		{"bearer " + tok, http.StatusOK},
		{"BEARER " + tok, http.StatusOK},
		{"Basic " + tok, http.StatusUnauthorized},
		{"Bearer" + tok, http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest("GET", e.ts.URL+"/api/me", nil)
		req.Header.Set("Authorization", tt.header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("Authorization %.10q…: %d, want %d", tt.header, resp.StatusCode, tt.want)
		}
	}
}
