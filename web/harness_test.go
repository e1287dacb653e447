package web_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/crypto/argon2"

	"termhost/admin"
	"termhost/auth"
	"termhost/internal/testterm"
	"termhost/persist"
	"termhost/persist/sqlite"
	"termhost/seal"
	"termhost/sessions"
	"termhost/tui/apps"
	"termhost/web"
)

const wait = 10 * time.Second

// clock is the web layer's injected time: tests move it to expire logins.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sleeps records the failure delays the login path waits out.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return nil
}

func (s *sleeps) take() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.d
	s.d = nil
	return out
}

// env is a real web server in front of a real manager and SQLite store,
// wired as cli/serve.go does.
type env struct {
	t      *testing.T
	dbPath string
	store  *sqlite.Store
	mgr    *sessions.Manager
	auth   *auth.Authenticator
	sleeps *sleeps
	clock  *clock
	web    *web.Server
	ts     *httptest.Server
	log    *testterm.Buffer
	ring   *seal.Ring // web_login: client only
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with opt changing the web config first (admission
// tests set ConnRate and Admission).
func newEnvWith(t *testing.T, opt func(*web.Config)) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, dbPath: filepath.Join(t.TempDir(), "termhost.db"), sleeps: &sleeps{}, clock: &clock{t: time.Now()}, log: &testterm.Buffer{}}
	st, err := sqlite.Open(ctx, e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.store = st
	log := slog.New(slog.NewTextHandler(e.log, nil))
	e.mgr = sessions.NewManager(sessions.Config{Store: st, Policy: sessions.DefaultPolicy(), Node: "n1", Registry: apps.Registry(), Log: log})
	if err := e.mgr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.mgr.Shutdown(context.Background(), "test over") })
	e.auth = &auth.Authenticator{Users: st, AllowSignup: true, Sleep: e.sleeps.sleep, Log: log}
	cfg := web.Config{
		Store: st, Manager: e.mgr, Admin: &admin.Runner{Manager: e.mgr, Audit: st, Now: time.Now},
		Login: func(ctx context.Context, name, password string, remote net.Addr, confirm func(context.Context) error) (persist.User, error) {
			return e.auth.Login(ctx, auth.LoginRequest{Transport: "web", User: name, Password: password, Remote: remote, ConfirmSignup: confirm})
		},
		Signup:    true,
		LoginIdle: time.Hour, LoginMax: 24 * time.Hour, Now: e.clock.Now, Log: log,
		SealedLogins: e.sealedRing(), // nil unless the test runs in web_login: client (sealedlogin_test.go)
	}
	if opt != nil {
		opt(&cfg)
	}
	e.web = web.New(cfg)
	e.ts = httptest.NewUnstartedServer(e.web)
	e.ts.Config = e.web.HTTPServer() // the timeouts and limits web.Listen serves with
	e.ts.Start()
	t.Cleanup(func() {
		e.web.Close()
		e.ts.Close()
	})
	return e
}

// addUser stores an account whose password hash is real argon2id with
// the smallest parameters VerifyPassword accepts, so that the many
// sign-ins here stay fast under -race; the login path is the real one.
func (e *env) addUser(name, role, password string) {
	e.t.Helper()
	salt := []byte("web-test-salt-16")
	key := argon2.IDKey([]byte(password), salt, 1, 64, 1, 32)
	h := fmt.Sprintf("$argon2id$v=%d$m=64,t=1,p=1$%s$%s", argon2.Version,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	if err := e.store.CreateUser(context.Background(), persist.User{Name: name, Role: role, PasswordHash: h}); err != nil {
		e.t.Fatal(err)
	}
}

// browser is an HTTP client with its own cookie jar that does not follow
// redirects, so tests see them.
type browser struct {
	t   *testing.T
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
}

func (e *env) browser() *browser { return e.browserFrom("") }

// browserFrom is a browser whose connections come from the loopback
// address local (e.g. "127.0.0.2"; "" the default), another source to the
// server's per-source rules.
func (e *env) browserFrom(local string) *browser {
	jar, _ := cookiejar.New(nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if local != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: wait}
		tr.DialContext = d.DialContext
	}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &browser{t: e.t, e: e, jar: jar, c: &http.Client{Jar: jar, Timeout: wait, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.e.ts.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values, header ...string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a page.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	_, body := b.get(path)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no csrf field on %s:\n%s", path, body)
	}
	return m[1]
}

// signIn posts the sign-in form as a browser does and returns the response.
func (b *browser) signIn(user, password, next string) *http.Response {
	b.t.Helper()
	b.get("/") // as a browser would: the sign-in page sets the form's CSRF cookie
	tok := b.cookie("termhost_csrf")
	resp, _ := b.post("/login", url.Values{"csrf": {tok}, "user": {user}, "password": {password}, "next": {next}})
	return resp
}

func (b *browser) mustSignIn(user, password string) {
	b.t.Helper()
	if resp := b.signIn(user, password, "/"); resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign in as %s: status %d, want 303", user, resp.StatusCode)
	}
}

// loginToken is the browser's login cookie value.
func (b *browser) loginToken() string { return b.cookie(web.LoginCookie) }

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.e.ts.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// wsURL is the WebSocket address of path.
func (e *env) wsURL(path string) string { return "ws" + strings.TrimPrefix(e.ts.URL, "http") + path }

// term is a Go WebSocket client on a terminal, seen through a screen.
type term struct {
	t     *testing.T
	ws    *websocket.Conn
	scr   *testterm.Screen
	hello chan string
	done  chan websocket.CloseError
}

// dial opens path's WebSocket with the browser's cookie and the page's
// Origin, and pumps binary frames into a w×h screen.
func (b *browser) dial(path string, w, h int) *term {
	b.t.Helper()
	ws, resp, err := b.dialRaw(path, b.e.ts.URL)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		b.t.Fatalf("dial %s: %v (status %d)", path, err, status)
	}
	tm := &term{t: b.t, ws: ws, scr: testterm.New(w, h), hello: make(chan string, 1), done: make(chan websocket.CloseError, 1)}
	b.t.Cleanup(func() {
		ws.CloseNow()
		tm.scr.Close()
	})
	go func() {
		for {
			typ, data, err := ws.Read(context.Background())
			if err != nil {
				var ce websocket.CloseError
				if !asClose(err, &ce) {
					ce = websocket.CloseError{Code: -1, Reason: err.Error()}
				}
				tm.done <- ce
				return
			}
			if typ == websocket.MessageText {
				select {
				case tm.hello <- string(data):
				default:
				}
				continue
			}
			tm.scr.Write(data)
		}
	}()
	return tm
}

func (b *browser) dialRaw(path, origin string) (*websocket.Conn, *http.Response, error) {
	u, _ := url.Parse(b.e.ts.URL)
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	var cookies []string
	for _, c := range b.jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	if len(cookies) > 0 {
		h.Set("Cookie", strings.Join(cookies, "; "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return websocket.Dial(ctx, b.e.wsURL(path), &websocket.DialOptions{HTTPHeader: h})
}

func (tm *term) send(s string) {
	tm.t.Helper()
	if err := tm.ws.Write(context.Background(), websocket.MessageBinary, []byte(s)); err != nil {
		tm.t.Fatalf("send %q: %v", s, err)
	}
}

func (tm *term) control(s string) {
	tm.t.Helper()
	if err := tm.ws.Write(context.Background(), websocket.MessageText, []byte(s)); err != nil {
		tm.t.Fatalf("send control %q: %v", s, err)
	}
}

func (tm *term) waitFor(s string) string {
	tm.t.Helper()
	return tm.scr.WaitFor(tm.t, s, wait)
}

// closed waits for the server to close the socket and returns how.
func (tm *term) closed() websocket.CloseError {
	tm.t.Helper()
	select {
	case ce := <-tm.done:
		return ce
	case <-time.After(wait):
		tm.t.Fatalf("socket still open; screen:\n%s", tm.scr.Text())
	}
	return websocket.CloseError{}
}

func asClose(err error, ce *websocket.CloseError) bool { return errors.As(err, ce) }
