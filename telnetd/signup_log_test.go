package telnetd_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"regexp"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"termhost/internal/testterm"
)

// Every account made by signup is logged once, with who, how and from
// where (issue 9: "ask to confirm a new account …, log it"): over telnet,
// over SSH by keyboard-interactive (confirmed), by password, and by public
// key (the account is made when the session starts).
func TestSignupIsLogged(t *testing.T) {
	tests := []struct {
		name      string
		transport string
		signup    func(t *testing.T, n *node, from string)
	}{
		{name: "telnet", transport: "telnet", signup: func(t *testing.T, n *node, from string) {
			c := n.dialFrom(from)
			c.mustSee("login: ")
			c.send("erin\r\n")
			c.mustSee("Password: ")
			c.send("long-enough\r\n")
			c.mustSee("Repeat the password to create it: ")
			c.send("long-enough\r\n")
			c.mustSee(" erin · ")
		}},
		{name: "ssh keyboard-interactive", transport: "ssh", signup: func(t *testing.T, n *node, from string) {
			sshSignup(t, n, from, gossh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
				ans := make([]string, len(qs))
				for i := range qs {
					ans[i] = "long-enough" // the password, then its repeat
				}
				return ans, nil
			}))
		}},
		{name: "ssh password", transport: "ssh", signup: func(t *testing.T, n *node, from string) {
			sshSignup(t, n, from, gossh.Password("long-enough"))
		}},
		{name: "ssh public key", transport: "ssh", signup: func(t *testing.T, n *node, from string) {
			_, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			signer, err := gossh.NewSignerFromKey(priv)
			if err != nil {
				t.Fatal(err)
			}
			sshSignup(t, n, from, gossh.PublicKeys(signer))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &testterm.Buffer{}
			n := start(t, options{signup: true, ssh: true, log: logs})
			tt.signup(t, n, "127.0.0.2")
			if _, err := n.store.GetUser(context.Background(), "erin"); err != nil {
				t.Fatalf("no account made: %v", err)
			}
			line := regexp.MustCompile(`(?m)^.*msg="signed up".*$`)
			deadline := time.Now().Add(wait)
			for !line.MatchString(logs.String()) && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond) // awaiting the line, bounded by wait
			}
			got := line.FindAllString(logs.String(), -1)
			if len(got) != 1 {
				t.Fatalf("%d \"signed up\" lines, want 1:\n%s", len(got), logs.String())
			}
			for _, want := range []string{"transport=" + tt.transport, "user=erin", "role=admin", "remote=127.0.0.2:"} {
				if !regexp.MustCompile(`\b` + regexp.QuoteMeta(want)).MatchString(got[0]) {
					t.Errorf("the signup line lacks %q: %s", want, got[0])
				}
			}
		})
	}
}

// sshSignup logs in as the unknown user erin from address from and runs
// one command, so that the session (and a key signup's account) starts.
func sshSignup(t *testing.T, n *node, from string, method gossh.AuthMethod) {
	t.Helper()
	conn := dialTCP(t, from, n.sshAddr)
	conn.SetDeadline(time.Now().Add(wait))
	cc, chans, reqs, err := gossh.NewClientConn(conn, n.sshAddr, &gossh.ClientConfig{
		User: "erin", Auth: []gossh.AuthMethod{method}, HostKeyCallback: gossh.FixedHostKey(n.hostKey)})
	if err != nil {
		t.Fatalf("ssh signup from %s: %v", from, err)
	}
	c := gossh.NewClient(cc, chans, reqs)
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if out, err := sess.CombinedOutput("ls"); err != nil {
		t.Fatalf("ssh ls after signup: %v\n%s", err, out)
	}
}
