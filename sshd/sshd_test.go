package sshd_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"termhost/internal/sshtest"
	"termhost/internal/testterm"
	"termhost/persist"
	"termhost/sessions"
)

// Signing up with a key opens a workspace; the first loopback account is
// the admin, later ones are not; the key is remembered.
func TestSignupByKey(t *testing.T) {
	s := startServer(t, true)
	aliceKey, bobKey := sshtest.Signer(t), sshtest.Signer(t)

	tm := shell(t, s.mustDial("alice", gossh.PublicKeys(aliceKey)), 80, 24, "")
	tm.waitFor(" alice · 1")
	if !strings.Contains(tm.scr.Line(0), "untitled") {
		t.Errorf("tab bar = %q, want Notes on an untitled document", tm.scr.Line(0))
	}
	tm.send("hello over ssh")
	tm.waitFor("hello over ssh")
	tm.send("\x02d")
	if code := tm.waitExit(); code != 0 {
		t.Errorf("exit status after detach = %d, want 0", code)
	}
	tm.waitFor("[detached from session 1]")

	shell(t, s.mustDial("bob", gossh.PublicKeys(bobKey)), 80, 24, "").waitFor(" bob · 1")

	for name, wantRole := range map[string]string{"alice": persist.RoleAdmin, "bob": persist.RoleUser} {
		u, err := s.store.GetUser(context.Background(), name)
		if err != nil {
			t.Fatalf("GetUser(%s): %v", name, err)
		}
		if u.Role != wantRole || len(u.Keys) != 1 {
			t.Errorf("%s: role %s with %d keys, want %s with 1", name, u.Role, len(u.Keys), wantRole)
		}
	}

	// The same key comes back to the same session; another key is refused.
	again := shell(t, s.mustDial("alice", gossh.PublicKeys(aliceKey)), 80, 24, "")
	again.waitFor("hello over ssh")
	if _, err := s.dial("alice", gossh.PublicKeys(sshtest.Signer(t))); err == nil {
		t.Error("an unknown key logged in as an existing user")
	}
}

func TestSignupRules(t *testing.T) {
	tests := []struct {
		name    string
		signup  bool
		user    string
		wantErr bool
	}{
		{name: "signup off", signup: false, user: "alice", wantErr: true},
		{name: "invalid name", signup: true, user: "Alice!", wantErr: true},
		{name: "valid name", signup: true, user: "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, tt.signup)
			_, err := s.dial(tt.user, gossh.PublicKeys(sshtest.Signer(t)))
			if (err != nil) != tt.wantErr {
				t.Errorf("dial = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

func TestPasswordAuth(t *testing.T) {
	s := startServer(t, false)
	s.addUser("carol", persist.RoleUser, "correct horse")
	answer := func(pw string) gossh.AuthMethod {
		return gossh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
			out := make([]string, len(qs))
			for i := range out {
				out[i] = pw
			}
			return out, nil
		})
	}
	tests := []struct {
		name   string
		method gossh.AuthMethod
		ok     bool
	}{
		{name: "password right", method: gossh.Password("correct horse"), ok: true},
		{name: "password wrong", method: gossh.Password("correct horse "), ok: false},
		{name: "password empty", method: gossh.Password(""), ok: false},
		{name: "keyboard-interactive right", method: answer("correct horse"), ok: true},
		{name: "keyboard-interactive wrong", method: answer("nope"), ok: false},
		{name: "key of nobody", method: gossh.PublicKeys(sshtest.Signer(t)), ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := s.dial("carol", tt.method)
			if (err == nil) != tt.ok {
				t.Fatalf("dial = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok {
				if code, out, _ := sshtest.Run(t, c, "ls"); code != 0 || !strings.Contains(out, "ID") {
					t.Errorf("ls after password login: %d %q", code, out)
				}
			}
		})
	}
}

func TestAdminVerbsOverExec(t *testing.T) {
	s := startServer(t, true)
	rootKey, bobKey := sshtest.Signer(t), sshtest.Signer(t)
	root := s.mustDial("root", gossh.PublicKeys(rootKey)) // first loopback signup: admin
	bob := s.mustDial("bob", gossh.PublicKeys(bobKey))
	// A session each, so the listings have something to show.
	shell(t, root, 80, 24, "new rootwork").waitFor(" root · rootwork")
	shell(t, bob, 80, 24, "new bobwork").waitFor(" bob · bobwork")

	code, out, errOut := sshtest.Run(t, root, "sessions list --json")
	if code != 0 {
		t.Fatalf("admin sessions list: exit %d, %s", code, errOut)
	}
	var all []sessions.JSONSession
	if err := json.Unmarshal([]byte(out), &all); err != nil || len(all) != 2 {
		t.Fatalf("admin sees %d sessions (%v), want 2:\n%s", len(all), err, out)
	}

	for _, cmd := range []string{"sessions list --json", "sessions kill rootwork"} {
		code, out, errOut := sshtest.Run(t, bob, cmd)
		if code != 1 || out != "" || !strings.Contains(errOut, "permission denied") {
			t.Errorf("non-admin %q: exit %d, stdout %q, stderr %q; want refused", cmd, code, out, errOut)
		}
	}
	// Account management is local only (`termhost user …` on the server).
	for _, c := range []*gossh.Client{root, bob} {
		if code, out, errOut := sshtest.Run(t, c, "user list"); code == 0 || out != "" || !strings.Contains(errOut, "unknown command") {
			t.Errorf("\"user list\" over ssh: exit %d, stdout %q, stderr %q; want an unknown command", code, out, errOut)
		}
	}

	code, out, _ = sshtest.Run(t, bob, "ls --json")
	var mine []sessions.JSONSession
	if err := json.Unmarshal([]byte(out), &mine); code != 0 || err != nil || len(mine) != 1 || mine[0].User != "bob" {
		t.Errorf("bob's ls --json = %d %v:\n%s\nwant only bob's session", code, err, out)
	}
	if code, _, errOut := sshtest.Run(t, bob, "kill rootwork"); code != 1 || !strings.Contains(errOut, "no such session") {
		t.Errorf("bob killing root's session: exit %d, %q", code, errOut)
	}
	if code, _, errOut := sshtest.Run(t, bob, "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}
}

func TestWindowChangeResizes(t *testing.T) {
	s := startServer(t, true)
	key := sshtest.Signer(t)
	s.addUser("alice", persist.RoleUser, "", key.PublicKey()) // no signup: its notice would fill a 50-column bar
	tm := shell(t, s.mustDial("alice", gossh.PublicKeys(key)), 80, 24, "")
	tm.waitFor(" alice · 1")
	if !strings.Contains(tm.scr.Line(23), "alice · 1") {
		t.Fatalf("status bar not on row 23:\n%s", tm.scr.Text())
	}
	tm.scr.Resize(50, 12)
	if err := tm.sess.WindowChange(12, 50); err != nil {
		t.Fatal(err)
	}
	tm.scr.WaitUntil(t, "status bar on row 11", wait, func(string) bool {
		return strings.Contains(tm.scr.Line(11), "alice · 1")
	})
	for i, l := range tm.scr.Lines() {
		if len([]rune(l)) > 50 {
			t.Errorf("row %d wider than 50: %q", i, l)
		}
	}
	info, err := s.mgr.List(context.Background(), "alice", "")
	if err != nil || len(info) != 1 || len(info[0].Clients) != 1 || info[0].Clients[0].Width != 50 || info[0].Clients[0].Height != 12 {
		t.Errorf("listed client = %+v, %v; want 50x12", info, err)
	}
}

func TestNoPtyIsRefused(t *testing.T) {
	s := startServer(t, true)
	c := s.mustDial("alice", gossh.PublicKeys(sshtest.Signer(t)))
	for _, cmd := range []string{"", "attach", "new"} {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		errOut := &testterm.Buffer{}
		sess.Stderr = errOut
		if cmd == "" {
			err = sess.Shell()
			if err == nil {
				err = sess.Wait()
			}
		} else {
			err = sess.Run(cmd)
		}
		sess.Close()
		var ee *gossh.ExitError
		if !asExit(err, &ee) || ee.ExitStatus() != 1 || !strings.Contains(errOut.String(), "needs a terminal") {
			t.Errorf("%q without a pty: %v, stderr %q; want exit 1 and 'needs a terminal'", cmd, err, errOut.String())
		}
	}
}

// Closing the client's input ends the session cleanly and leaves it detached.
func TestInputEOFDetaches(t *testing.T) {
	s := startServer(t, true)
	key := sshtest.Signer(t)
	s.addUser("alice", persist.RoleUser, "", key.PublicKey()) // no signup: its notice would fill a 50-column bar
	tm := shell(t, s.mustDial("alice", gossh.PublicKeys(key)), 80, 24, "")
	tm.waitFor(" alice · 1")
	tm.in.Close()
	tm.waitExit()
	info, _ := s.mgr.List(context.Background(), "alice", "")
	if len(info) != 1 || info[0].State != persist.StateDetached {
		t.Errorf("after EOF: %+v, want one detached session", info)
	}
}

// An interactive verb that fails before attaching ends with exit status 1
// and says why on the terminal (issue 9: it printed the error but exited 0).
func TestInteractiveVerbErrorsExit(t *testing.T) {
	s := startServer(t, true)
	key := sshtest.Signer(t)
	c := s.mustDial("alice", gossh.PublicKeys(key))
	shell(t, c, 80, 24, "new work").waitFor(" alice · work")
	tests := []struct {
		name, cmd, want string
		code            int
	}{
		{name: "attach a session that does not exist", cmd: "attach nosuch", want: "no such session", code: 1},
		{name: "new with a name in use", cmd: "new work", want: "work", code: 1},
		// A usage error is answered before anything is drawn: stderr, exit 2.
		{name: "unknown interactive flag", cmd: "attach --bogus", want: "error", code: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := shell(t, c, 80, 24, tt.cmd)
			if tt.code == 2 {
				if code := tm.waitExit(); code != 2 || !strings.Contains(tm.errOut.String(), tt.want) {
					t.Errorf("%q exited %d, stderr %q; want 2 and %q", tt.cmd, code, tm.errOut.String(), tt.want)
				}
				return
			}
			tm.waitFor(tt.want)
			if code := tm.waitExit(); code != tt.code {
				t.Errorf("%q exited %d, want %d; screen:\n%s", tt.cmd, code, tt.code, tm.scr.Text())
			}
		})
	}
}

// TestSignupByPasswordConfirms: over keyboard-interactive (what OpenSSH
// uses first) an unknown name is asked for its password again before an
// account is made, and the first account is told it is an admin (issue 9).
func TestSignupByPasswordConfirms(t *testing.T) {
	tests := []struct {
		name      string
		first     string // the password typed first ("pw-right" unless set)
		repeat    string // answer to the second question ("" : never asked)
		ok        bool
		wantAsked int
		wantLast  string // in the last round's instruction and questions
		wantRole  string // "" : no account
		welcome   string
	}{
		{name: "mistyped repeat makes no account and says so", repeat: "pw-typo", wantAsked: 3, wantLast: "passwords do not match"},
		{name: "repeated makes the first admin", repeat: "pw-right", ok: true, wantAsked: 2, wantLast: "repeat the password", wantRole: persist.RoleAdmin, welcome: "first account, so it is an admin"},
		{name: "too short is said before a repeat", first: "short", wantAsked: 2, wantLast: "passwords are at least 8 characters"},
		{name: "bad name is said", wantAsked: 2, wantLast: "user names are 1-32 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, true)
			var asked []string
			method := gossh.KeyboardInteractive(func(_, instr string, qs []string, _ []bool) ([]string, error) {
				asked = append(asked, instr+strings.Join(qs, ""))
				if len(qs) == 0 {
					return nil, nil // a message
				}
				if len(asked) == 1 {
					if tt.first != "" {
						return []string{tt.first}, nil
					}
					return []string{"pw-right"}, nil
				}
				return []string{tt.repeat}, nil
			})
			user := "dana"
			if strings.Contains(tt.name, "bad name") {
				user = "Dana!"
			}
			c, err := s.dial(user, method)
			if (err == nil) != tt.ok {
				t.Fatalf("dial = %v, want ok=%v", err, tt.ok)
			}
			if len(asked) != tt.wantAsked || !strings.Contains(asked[len(asked)-1], tt.wantLast) {
				t.Errorf("rounds %q, want %d ending with %q", asked, tt.wantAsked, tt.wantLast)
			}
			u, err := s.store.GetUser(context.Background(), "dana")
			if tt.wantRole == "" {
				if err == nil {
					t.Errorf("an account was made: %+v", u)
				}
				return
			}
			if err != nil || u.Role != tt.wantRole {
				t.Fatalf("account %+v, %v; want role %s", u, err, tt.wantRole)
			}
			if _, _, errOut := sshtest.Run(t, c, "ls"); !strings.Contains(errOut, tt.welcome) {
				t.Errorf("first command's stderr %q, want %q", errOut, tt.welcome)
			}
			if _, _, errOut := sshtest.Run(t, c, "ls"); strings.Contains(errOut, "created") {
				t.Errorf("welcome repeated on the next command: %q", errOut)
			}
			// An existing account is asked once.
			asked = nil
			if _, err := s.dial("dana", method); err != nil || len(asked) != 1 {
				t.Errorf("login to the existing account: %v after %d questions, want 1", err, len(asked))
			}
		})
	}
}
