package telnetd_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	gossh "golang.org/x/crypto/ssh"

	"termhost/admission"
	"termhost/auth"
	"termhost/hostkeys"
	"termhost/persist"
	"termhost/persist/sqlite"
	"termhost/sessions"
	"termhost/sshd"
	"termhost/telnetd"
	"termhost/tui/apps"
)

const wait = 10 * time.Second

// options vary the wiring of a test node.
type options struct {
	signup  bool
	gate    admission.Config // Grace `wait` when zero
	proxy   []string         // trusted PROXY senders; nil: PROXY protocol off
	sources *auth.Limiter    // nil: 1ms doubling to 4ms
	ssh     bool             // also run an SSH listener sharing the login path and gate
	log     io.Writer        // the node's log (text); nil: discarded
}

// node is a real telnetd (and optionally sshd) on loopback, wired as
// cli/serve.go does: one store, one manager, one login path, one gate.
type node struct {
	t       *testing.T
	telAddr string
	sshAddr string
	hostKey gossh.PublicKey
	store   *sqlite.Store
	mgr     *sessions.Manager
}

func start(t *testing.T, o options) *node {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "termhost.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if o.log == nil {
		o.log = io.Discard
	}
	log := slog.New(slog.NewTextHandler(o.log, nil))
	mgr := sessions.NewManager(sessions.Config{Store: st, Policy: sessions.DefaultPolicy(), Node: "n1", Registry: apps.Registry(), Log: log})
	if err := mgr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mgr.Shutdown(context.Background(), "test over") })
	if o.sources == nil {
		o.sources = auth.NewLimiter(time.Now)
		o.sources.BaseDelay, o.sources.MaxDelay = time.Millisecond, 4*time.Millisecond
	}
	authn := &auth.Authenticator{Users: st, AllowSignup: o.signup, Sources: o.sources, Log: log}
	if o.gate.Grace == 0 {
		o.gate.Grace = wait
	}
	gate := admission.New(o.gate)
	var trust *admission.Trust
	if o.proxy != nil {
		if trust, err = admission.ParseTrust(o.proxy); err != nil {
			t.Fatal(err)
		}
		trust.HeaderTimeout, trust.Log = o.gate.Grace, log
	}
	tel, err := telnetd.Listen(telnetd.Config{Addr: "127.0.0.1:0", Auth: authn, Manager: mgr, Admission: gate, Proxy: trust,
		Negotiation: 50 * time.Millisecond, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tel.Serve() }()
	t.Cleanup(func() {
		tel.Close()
		if err := <-done; err != nil {
			t.Errorf("telnet Serve: %v", err)
		}
	})
	n := &node{t: t, telAddr: tel.Addr().String(), store: st, mgr: mgr}
	if o.ssh {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		hk, err := gossh.NewSignerFromKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := sshd.Listen(sshd.Config{Addr: "127.0.0.1:0", HostKeys: []hostkeys.Key{{Signer: hk}}, Auth: authn, Users: st,
			Manager: mgr, Admission: gate, Proxy: trust, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve()
		t.Cleanup(func() { srv.Close() })
		n.sshAddr, n.hostKey = srv.Addr().String(), hk.PublicKey()
	}
	return n
}

func (n *node) addUser(name, password string) {
	n.t.Helper()
	h := fastHash(n.t, password)
	if err := n.store.CreateUser(context.Background(), persist.User{Name: name, Role: persist.RoleUser, PasswordHash: h, CreatedAt: time.Now()}); err != nil {
		n.t.Fatal(err)
	}
}

// client is a raw telnet client: it ignores negotiation and sees the
// server's bytes as text.
type client struct {
	t   *testing.T
	c   net.Conn
	out bytes.Buffer
	pos int // output before pos has been matched already
}

// dialFrom connects from local address ip (any 127/8 address is this host).
func (n *node) dialFrom(ip string) *client {
	n.t.Helper()
	return &client{t: n.t, c: dialTCP(n.t, ip, n.telAddr)}
}

func dialTCP(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: wait}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readUntil reads until the output not matched yet contains s; it returns
// the error that stopped it first (EOF, timeout) if s never came.
func (c *client) readUntil(s string) error {
	c.c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	for {
		if i := strings.Index(c.out.String()[c.pos:], s); i >= 0 {
			c.pos += i + len(s)
			return nil
		}
		n, err := c.c.Read(buf)
		c.out.Write(buf[:n])
		if err != nil && !strings.Contains(c.out.String()[c.pos:], s) {
			return err
		}
	}
}

func (c *client) mustSee(s string) {
	c.t.Helper()
	if err := c.readUntil(s); err != nil {
		c.t.Fatalf("waiting for %q: %v; got %q", s, err, c.out.String())
	}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.c.Write([]byte(s)); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// login answers login: and Password: and returns when the server answered
// (a workspace, or "Login incorrect").
func (c *client) login(name, password string) (ok bool) {
	c.t.Helper()
	c.mustSee("login: ")
	c.send(name + "\r\n")
	c.mustSee("Password: ")
	mark := c.pos
	c.send(password + "\r\n")
	c.c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	for {
		got := c.out.String()[mark:]
		for _, r := range []struct {
			s  string
			ok bool
		}{{"Login incorrect", false}, {" " + name + " · ", true}} {
			if i := strings.Index(got, r.s); i >= 0 {
				c.pos = mark + i + len(r.s) // the next prompt may be in the same read
				return r.ok
			}
		}
		n, err := c.c.Read(buf)
		c.out.Write(buf[:n])
		if err != nil {
			c.t.Fatalf("login %s: %v; got %q", name, err, c.out.String()[mark:])
		}
	}
}

// fastHash is a real argon2id hash with the cheapest parameters
// VerifyPassword accepts, so timing tests measure delays, not hashing
// (which is ≈50× slower under -race).
func fastHash(t *testing.T, password string) string {
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
