package sshd_test

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"termhost/auth"
	"termhost/internal/sshtest"
	"termhost/persist"
	"termhost/sessions"
)

// TestSelfServicePasswd: `ssh host passwd` changes the caller's own
// password; a password account must give the old one, a key-only account
// sets its first one (and can then log in by password, as telnet does).
func TestSelfServicePasswd(t *testing.T) {
	tests := []struct {
		name    string
		user    string // carol has "old-pw" and a key; kim only a key
		stdin   string
		code    int
		want    string
		loginPw string // a password that must work afterwards
		failPw  string // one that must not
	}{
		{name: "key-only account sets a first password", user: "kim", stdin: "first-pw-1\nfirst-pw-1\n", want: "password of kim changed", loginPw: "first-pw-1"},
		{name: "old password right", user: "carol", stdin: "old-pw\nnew-pw-long\nnew-pw-long\n", want: "password of carol changed", loginPw: "new-pw-long", failPw: "old-pw"},
		{name: "old password wrong", user: "carol", stdin: "guess\nnew-pw-long\nnew-pw-long\n", code: 1, want: "permission denied", loginPw: "old-pw", failPw: "new-pw-long"},
		{name: "new passwords differ", user: "carol", stdin: "old-pw\nnew-pw-long\nNEW-PW-LONG\n", code: 1, want: "did not match", loginPw: "old-pw", failPw: "new-pw-long"},
		{name: "empty new password", user: "kim", stdin: "\n\n", code: 1, want: "password is required"},
		{name: "new password too short", user: "carol", stdin: "old-pw\nshort\nshort\n", code: 1, want: "passwords are at least 8 characters", loginPw: "old-pw", failPw: "short"},
		{name: "arguments refused", user: "kim", stdin: "", code: 2, want: "usage: passwd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, false)
			key := sshtest.Signer(t)
			s.addUser("carol", persist.RoleUser, "old-pw", key.PublicKey())
			s.addUser("kim", persist.RoleUser, "", key.PublicKey())
			c := s.mustDial(tt.user, gossh.PublicKeys(key))
			cmd := "passwd"
			if tt.code == 2 {
				cmd = "passwd bob"
			}
			code, out, errOut := sshtest.RunIn(t, c, cmd, tt.stdin)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Fatalf("passwd: exit %d, stdout %q, stderr %q; want %d and %q", code, out, errOut, tt.code, tt.want)
			}
			if tt.loginPw != "" {
				if _, err := s.dial(tt.user, gossh.Password(tt.loginPw)); err != nil {
					t.Errorf("login with %q: %v", tt.loginPw, err)
				}
			}
			if tt.failPw != "" {
				if _, err := s.dial(tt.user, gossh.Password(tt.failPw)); err == nil {
					t.Errorf("login with %q worked", tt.failPw)
				}
			}
		})
	}
}

// On a terminal, passwd asks each question and echoes nothing typed.
func TestSelfServicePasswdOnTerminal(t *testing.T) {
	s := startServer(t, false)
	key := sshtest.Signer(t)
	s.addUser("carol", persist.RoleUser, "old-pw", key.PublicKey())
	tm := shell(t, s.mustDial("carol", gossh.PublicKeys(key)), 80, 24, "passwd")
	tm.waitFor("Current password:")
	tm.send("old-pw\r")
	tm.waitFor("New password:")
	tm.send("tty-pw-long\r")
	tm.waitFor("Repeat the new password:")
	tm.send("tty-pw-long\r")
	if code := tm.waitExit(); code != 0 {
		t.Fatalf("passwd on a terminal exited %d:\n%s\n%s", code, tm.scr.Text(), tm.errOut.String())
	}
	if strings.Contains(tm.scr.Text()+tm.errOut.String(), "tty-pw-long") || strings.Contains(tm.scr.Text()+tm.errOut.String(), "old-pw") {
		t.Errorf("a typed password was echoed:\n%s", tm.scr.Text())
	}
	if _, err := s.dial("carol", gossh.Password("tty-pw-long")); err != nil {
		t.Errorf("the new password does not log in: %v", err)
	}
}

// TestSelfServiceKeys: `ssh host keys list|add|del` on the caller's own
// account; the last way in cannot be deleted.
func TestSelfServiceKeys(t *testing.T) {
	s := startServer(t, false)
	key, second := sshtest.Signer(t), sshtest.Signer(t)
	s.addUser("kim", persist.RoleUser, "", key.PublicKey())
	s.addUser("lee", persist.RoleUser, "", sshtest.Signer(t).PublicKey())
	c := s.mustDial("kim", gossh.PublicKeys(key))
	fp := func(k gossh.Signer) string { return gossh.FingerprintSHA256(k.PublicKey()) }
	secondText := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(second.PublicKey())))
	tests := []struct {
		name, cmd, stdin string
		code             int
		want             string
		keys             int // kim's keys afterwards
	}{
		{name: "list", cmd: "keys list", want: fp(key), keys: 1},
		{name: "the last key stays", cmd: "keys del 1", code: 1, want: "only way in", keys: 1},
		{name: "add from stdin", cmd: "keys add", stdin: secondText + "\n", want: "key " + fp(second) + " added", keys: 2},
		{name: "add again is no error", cmd: "keys add " + secondText, want: "added", keys: 2},
		{name: "not a key", cmd: "keys add ssh-ed25519 AAAAnope", code: 1, want: "not a valid public key", keys: 2},
		{name: "delete by fingerprint", cmd: "keys del " + fp(key), want: "deleted", keys: 1},
		{name: "no such key", cmd: "keys del 7", code: 1, want: "no such key", keys: 1},
		{name: "bad verb", cmd: "keys frob", code: 2, want: "usage: keys", keys: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "delete by fingerprint" {
				c = s.mustDial("kim", gossh.PublicKeys(second)) // the key being deleted is the one in use: fine
			}
			code, out, errOut := sshtest.RunIn(t, c, tt.cmd, tt.stdin)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d and %q", tt.cmd, code, out, errOut, tt.code, tt.want)
			}
			keys, err := auth.Keys(context.Background(), s.store, "kim")
			if err != nil || len(keys) != tt.keys {
				t.Errorf("kim has %d keys (%v), want %d", len(keys), err, tt.keys)
			}
		})
	}
	if u, _ := s.store.GetUser(context.Background(), "lee"); len(u.Keys) != 1 {
		t.Errorf("another user's keys changed: %+v", u)
	}
	if _, err := s.dial("kim", gossh.PublicKeys(key)); err == nil {
		t.Error("a deleted key still logs in")
	}
}

// An account from the config file of a storage-less node (FixedAccount)
// is not changed over SSH: its password and keys would come back at the
// next start. Listing keys still works, and other accounts change as ever.
func TestFixedAccountRefusesChanges(t *testing.T) {
	s := startServerWith(t, options{fixed: func(name string) bool { return name == "cfg" }})
	key, other := sshtest.Signer(t), sshtest.Signer(t)
	s.addUser("cfg", persist.RoleUser, "old-pw-long", key.PublicKey())
	s.addUser("kim", persist.RoleUser, "", key.PublicKey())
	otherKey := string(gossh.MarshalAuthorizedKey(other.PublicKey()))
	tests := []struct {
		name, user, cmd, stdin string
		code                   int
		want                   string
	}{
		{"passwd refused", "cfg", "passwd", "old-pw-long\nnew-pw-long\nnew-pw-long\n", 1, "config file"},
		{"keys add refused", "cfg", "keys add " + otherKey, "", 1, "config file"},
		{"keys del refused", "cfg", "keys del 1", "", 1, "config file"},
		{"keys list works", "cfg", "keys list", "", 0, "ssh-ed25519"},
		{"another account changes", "kim", "passwd", "first-pw-1\nfirst-pw-1\n", 0, "password of kim changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := sshtest.RunIn(t, s.mustDial(tt.user, gossh.PublicKeys(key)), tt.cmd, tt.stdin)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Fatalf("%s: exit %d, stdout %q, stderr %q; want %d and %q", tt.cmd, code, out, errOut, tt.code, tt.want)
			}
		})
	}
	if _, err := s.dial("cfg", gossh.Password("old-pw-long")); err != nil {
		t.Errorf("cfg's password changed after all: %v", err)
	}
	u, err := s.store.GetUser(context.Background(), "cfg")
	if err != nil || len(u.Keys) != 1 {
		t.Errorf("cfg's keys changed: %v %v", u.Keys, err)
	}
}

// A password changed over SSH ends the user's open browser terminals at
// once (their sign-ins ended with it); SSH clients stay.
func TestPasswdEndsOpenWebTerminals(t *testing.T) {
	s := startServer(t, false)
	key := sshtest.Signer(t)
	s.addUser("carol", persist.RoleUser, "old-pw-long", key.PublicKey())
	page, server := net.Pipe()
	defer page.Close()
	go s.mgr.Serve(context.Background(), server, sessions.ClientInfo{Transport: "web", Remote: "127.0.0.1:9", Term: "xterm-256color", Width: 80, Height: 24},
		sessions.User{Name: "carol"}, nil)
	seen := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(page) // until the server closes the page's connection
		seen <- string(b)
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		infos, _ := s.mgr.List(context.Background(), "carol", "")
		if len(infos) == 1 && len(infos[0].Clients) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the web client never attached")
		}
	}
	code, out, errOut := sshtest.RunIn(t, s.mustDial("carol", gossh.PublicKeys(key)), "passwd", "old-pw-long\nnew-pw-long\nnew-pw-long\n")
	if code != 0 {
		t.Fatalf("passwd: exit %d, %q %q", code, out, errOut)
	}
	select {
	case got := <-seen:
		if !strings.Contains(got, sessions.SignedOut) {
			t.Errorf("the web client was told %q, want %q", got[max(0, len(got)-80):], sessions.SignedOut)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the open web terminal stayed after the password change")
	}
}
