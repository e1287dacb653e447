package web_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"termhost/hostkeys"
	"termhost/persist"
	"termhost/sessions"
	"termhost/sshd"
)

var aliceUser = sessions.User{Name: "alice"}

// TestWeblinkOverSSH: `ssh host weblink [SESSION]` prints a link from the
// web server (or says the web is off), and the link signs a browser in.
func TestWeblinkOverSSH(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	hk, _ := gossh.NewSignerFromKey(priv)
	start := func(withWeb bool) string {
		cfg := sshd.Config{Addr: "127.0.0.1:0", HostKeys: []hostkeys.Key{{Signer: hk}}, Auth: e.auth, Users: e.store,
			Manager: e.mgr, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		if withWeb {
			cfg.Weblink = e.web.Weblink
		}
		ssh, err := sshd.Listen(cfg)
		if err != nil {
			t.Fatal(err)
		}
		go ssh.Serve()
		t.Cleanup(func() { ssh.Close() })
		return ssh.Addr().String()
	}
	on, off := start(true), start(false)
	run := func(addr, cmd string) (int, string, string) {
		t.Helper()
		c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: "alice", Auth: []gossh.AuthMethod{gossh.Password("pw-alice")},
			HostKeyCallback: gossh.FixedHostKey(hk.PublicKey()), Timeout: wait})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		var out, errOut bytes.Buffer
		sess.Stdout, sess.Stderr = &out, &errOut
		code := 0
		if err := sess.Run(cmd); err != nil {
			var ee *gossh.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("%s: %v", cmd, err)
			}
			code = ee.ExitStatus()
		}
		return code, out.String(), errOut.String()
	}
	if _, err := e.mgr.Create(t.Context(), aliceUser, "work"); err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`http://[^/\s]+/link\?t=[A-Za-z0-9_-]{43}`)
	tests := []struct {
		name   string
		addr   string
		cmd    string
		code   int
		stdout *regexp.Regexp
		stderr string
	}{
		{"a session by name", on, "weblink work", 0, link, ""},
		{"the only session", on, "weblink", 0, link, ""},
		{"no such session", on, "weblink nope", 1, nil, "no such session"},
		{"too many arguments", on, "weblink a b", 2, nil, "usage"},
		{"web off", off, "weblink", 1, nil, "web interface is off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(tt.addr, tt.cmd)
			if code != tt.code || (tt.stdout != nil && !tt.stdout.MatchString(out)) || !strings.Contains(errOut, tt.stderr) {
				t.Fatalf("ssh %s: exit %d, out %q, err %q; want exit %d", tt.cmd, code, out, errOut, tt.code)
			}
			if tt.stdout == nil {
				return
			}
			// The link is for this test's web server (httptest's port), so
			// open it by path there.
			u, _ := url.Parse(tt.stdout.FindString(out))
			b := e.browser()
			if resp, _ := b.get(u.RequestURI()); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/s/") {
				t.Fatalf("link from ssh: %d to %q; want 303 to the session", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}
