package sshd_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	gossh "golang.org/x/crypto/ssh"

	"termhost/admin"
	"termhost/admission"
	"termhost/auth"
	"termhost/hostkeys"
	"termhost/internal/sshtest"
	"termhost/internal/testterm"
	"termhost/persist"
	"termhost/persist/sqlite"
	"termhost/sessions"
	"termhost/sshd"
	"termhost/tui/apps"
)

const wait = 10 * time.Second

// server is a real sshd.Server on loopback, wired as cli/serve.go does.
type server struct {
	t       testing.TB
	addr    string
	hostKey gossh.PublicKey
	store   *sqlite.Store
	mgr     *sessions.Manager
	limiter *auth.Limiter
	authn   *auth.Authenticator
}

func startServer(t testing.TB, allowSignup bool) *server {
	t.Helper()
	return startServerWith(t, options{signup: allowSignup})
}

// options vary the wiring of a test server.
type options struct {
	signup  bool
	gate    admission.Config  // MaxUnauth 16 and Grace `wait` when zero
	proxy   []string          // trusted PROXY senders; nil: PROXY protocol off
	sources *auth.Limiter     // per-source failure delays; nil: 1ms doubling to 4ms
	limits  *sshd.Limits      // authenticated connection bounds; nil: sshd.DefaultLimits
	fixed   func(string) bool // sshd.Config.FixedAccount
}

func startServerWith(t testing.TB, o options) *server {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "termhost.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mgr := sessions.NewManager(sessions.Config{Store: st, Policy: sessions.DefaultPolicy(), Node: "n1", Registry: apps.Registry(), Log: log})
	if err := mgr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mgr.Shutdown(context.Background(), "test over") })
	hk := sshtest.Signer(t)
	limiter := o.sources
	if limiter == nil {
		limiter = auth.NewLimiter(time.Now)
		limiter.BaseDelay, limiter.MaxDelay = time.Millisecond, 4*time.Millisecond
	}
	authn := &auth.Authenticator{Users: st, AllowSignup: o.signup, Sources: limiter, Log: log}
	if o.gate == (admission.Config{}) {
		o.gate = admission.Config{MaxUnauth: 16}
	}
	if o.gate.Grace == 0 {
		o.gate.Grace = wait
	}
	var trust *admission.Trust
	if o.proxy != nil {
		if trust, err = admission.ParseTrust(o.proxy); err != nil {
			t.Fatal(err)
		}
		trust.HeaderTimeout, trust.Log = o.gate.Grace, log
	}
	srv, err := sshd.Listen(sshd.Config{
		Addr: "127.0.0.1:0", HostKeys: []hostkeys.Key{{Signer: hk}},
		Auth: authn, Users: st, Manager: mgr, Admin: &admin.Runner{Manager: mgr, Audit: st, Now: time.Now},
		Admission: admission.New(o.gate), Proxy: trust, Limits: o.limits, Log: log,
		FixedAccount: o.fixed,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &server{t: t, addr: srv.Addr().String(), hostKey: hk.PublicKey(), store: st, mgr: mgr, limiter: limiter, authn: authn}
}

// dial connects as user with the given auth methods.
func (s *server) dial(user string, methods ...gossh.AuthMethod) (*gossh.Client, error) {
	c, err := gossh.Dial("tcp", s.addr, &gossh.ClientConfig{
		User: user, Auth: methods, HostKeyCallback: gossh.FixedHostKey(s.hostKey), Timeout: wait,
	})
	if err == nil {
		s.t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func (s *server) mustDial(user string, methods ...gossh.AuthMethod) *gossh.Client {
	s.t.Helper()
	c, err := s.dial(user, methods...)
	if err != nil {
		s.t.Fatalf("dial as %s: %v", user, err)
	}
	return c
}

func (s *server) addUser(name, role, password string, keys ...gossh.PublicKey) {
	s.t.Helper()
	u := persist.User{Name: name, Role: role, CreatedAt: time.Now()}
	for _, k := range keys {
		u.Keys = append(u.Keys, auth.NormalizeKey(k))
	}
	if password != "" {
		u.PasswordHash = fastHash(s.t, password)
	}
	if err := s.store.CreateUser(context.Background(), u); err != nil {
		s.t.Fatal(err)
	}
}

// term is an interactive ssh session on a pty, seen through a screen.
type term struct {
	t      *testing.T
	sess   *gossh.Session
	in     io.WriteCloser
	scr    *testterm.Screen
	exit   chan error
	errOut *testterm.Buffer
}

// shell opens a pty of w×h and starts cmd ("" for the default attach).
func shell(t *testing.T, c *gossh.Client, w, h int, cmd string) *term {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	return startOn(t, sess, w, h, cmd)
}

// attachOn opens a w×h pty on sess (after the test's own requests, such
// as env) and attaches as shell does.
func attachOn(t *testing.T, sess *gossh.Session, w, h int) *term {
	t.Helper()
	return startOn(t, sess, w, h, "")
}

func startOn(t *testing.T, sess *gossh.Session, w, h int, cmd string) *term {
	t.Helper()
	var err error
	if err := sess.RequestPty("xterm-256color", h, w, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
		t.Fatalf("pty: %v", err)
	}
	tm := &term{t: t, sess: sess, scr: testterm.New(w, h), exit: make(chan error, 1), errOut: &testterm.Buffer{}}
	if tm.in, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	sess.Stdout, sess.Stderr = tm.scr, tm.errOut
	if cmd == "" {
		err = sess.Shell()
	} else {
		err = sess.Start(cmd)
	}
	if err != nil {
		t.Fatal(err)
	}
	go func() { tm.exit <- sess.Wait() }()
	t.Cleanup(func() {
		sess.Close()
		tm.scr.Close()
	})
	return tm
}

func (tm *term) send(s string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.in, s); err != nil {
		tm.t.Fatalf("send %q: %v", s, err)
	}
}

func (tm *term) waitFor(s string) string {
	tm.t.Helper()
	return tm.scr.WaitFor(tm.t, s, wait)
}

// waitExit waits for the remote command and returns its exit status.
func (tm *term) waitExit() int {
	tm.t.Helper()
	select {
	case err := <-tm.exit:
		var ee *gossh.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.ExitStatus()
		}
		tm.t.Fatalf("session ended without a status: %v", err)
	case <-time.After(wait):
		tm.t.Fatalf("session did not end; screen:\n%s", tm.scr.Text())
	}
	return -1
}

func asExit(err error, ee **gossh.ExitError) bool { return errors.As(err, ee) }

// fastHash is a real argon2id hash with the cheapest parameters
// VerifyPassword accepts, so timing tests measure delays, not hashing
// (which is ≈50× slower under -race).
func fastHash(t testing.TB, password string) string {
	t.Helper()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	key := argon2.IDKey([]byte(password), salt, 1, 64, 1, 32)
	b64 := base64.RawStdEncoding
	h := fmt.Sprintf("$argon2id$v=%d$m=64,t=1,p=1$%s$%s", argon2.Version, b64.EncodeToString(salt), b64.EncodeToString(key))
	if ok, err := auth.VerifyPassword(h, password); !ok || err != nil {
		t.Fatalf("fastHash does not verify: %v", err)
	}
	return h
}
