package sshd_test

import (
	"context"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"termhost/admin"
	"termhost/internal/sshtest"
	"termhost/persist"
	"termhost/sessions"
)

// Every user verb over SSH answers --help/-h with its own usage and exit
// 0 (attach and new without attaching or drawing), refuses extra
// arguments with exit 2, and `help` lists the verbs (issue 9: `attach
// --help` said "flag: help requested", `kill --help` looked up a session
// named "--help", `new a b` created "a").
func TestVerbHelpAndExtraArguments(t *testing.T) {
	tests := []struct {
		name     string
		cmd      string
		pty      bool // ssh -tt
		code     int
		stdout   string // wanted in stdout ("" : stdout must be empty)
		stderr   string // wanted in stderr
		notLists bool   // the output must not be the session table
	}{
		{name: "help", cmd: "help", stdout: "passwd"},
		{name: "help lists attach", cmd: "help", stdout: "attach [--shared]"},
		{name: "help with an argument", cmd: "help me", code: 2, stderr: "usage: help"},
		{name: "attach --help on a pty", cmd: "attach --help", pty: true, stdout: "usage: attach"},
		{name: "attach -h without a pty", cmd: "attach -h", stdout: "usage: attach"},
		{name: "a --help", cmd: "a --help", stdout: "usage: attach"},
		{name: "attach two names", cmd: "attach keep other", pty: true, code: 2, stderr: "extra"},
		{name: "attach unknown flag", cmd: "attach --bogus", pty: true, code: 2, stderr: "usage: attach"},
		{name: "new --help on a pty", cmd: "new --help", pty: true, stdout: "usage: new"},
		{name: "new -h", cmd: "new -h", stdout: "usage: new"},
		{name: "new two names", cmd: "new a b", pty: true, code: 2, stderr: `extra ["b"]`},
		{name: "new with a flag", cmd: "new --bogus", pty: true, code: 2, stderr: "usage: new"},
		{name: "ls --help", cmd: "ls --help", stdout: "usage: ls", notLists: true},
		{name: "ls -h", cmd: "ls -h", stdout: "usage: ls", notLists: true},
		{name: "ls extra", cmd: "ls extra", code: 2, stderr: "usage: ls"},
		{name: "ls unknown flag", cmd: "ls --bogus", code: 2, stderr: "unknown flag --bogus"},
		{name: "ls --json still works", cmd: "ls --json", stdout: `"keep"`},
		{name: "kill --help", cmd: "kill --help", stdout: "usage: kill"},
		{name: "kill -h", cmd: "kill -h", stdout: "usage: kill"},
		{name: "kill without a name", cmd: "kill", code: 2, stderr: "usage: kill"},
		{name: "kill extra", cmd: "kill keep other", code: 2, stderr: "extra"},
		{name: "passwd --help", cmd: "passwd --help", stdout: "usage: passwd"},
		{name: "passwd extra", cmd: "passwd bob", code: 2, stderr: "usage: passwd"},
		{name: "keys --help", cmd: "keys --help", stdout: "usage: keys"},
		{name: "keys add --help", cmd: "keys add --help", stdout: "usage: keys"},
		{name: "keys list extra", cmd: "keys list extra", code: 2, stderr: "usage: keys"},
		{name: "weblink --help", cmd: "weblink --help", stdout: "usage: weblink"},
		{name: "weblink extra", cmd: "weblink a b", code: 1, stderr: "error"}, // the web is off in the harness
		{name: "unknown verb points to help", cmd: "frobnicate", code: 2, stderr: "try: help"},
	}
	s := startServer(t, false)
	key := sshtest.Signer(t)
	s.addUser("carol", persist.RoleUser, "pw", key.PublicKey())
	if _, err := s.mgr.Create(context.Background(), sessions.User{Name: "carol"}, "keep"); err != nil {
		t.Fatal(err)
	}
	c := s.mustDial("carol", gossh.PublicKeys(key))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var code int
			var out, errOut string
			if tt.pty {
				tm := shell(t, c, 80, 24, tt.cmd)
				code = tm.waitExit()
				out, errOut = tm.scr.Text(), tm.errOut.String()
				if strings.Contains(out, "Tabs") || strings.Contains(out, "keep ·") {
					t.Errorf("the workspace was drawn:\n%s", out)
				}
			} else {
				code, out, errOut = sshtest.Run(t, c, tt.cmd)
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d; stdout %q, stderr %q", code, tt.code, out, errOut)
			}
			if tt.stdout != "" && !strings.Contains(out, tt.stdout) {
				t.Errorf("stdout %q lacks %q (stderr %q)", out, tt.stdout, errOut)
			}
			if tt.stderr != "" && !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr %q lacks %q (stdout %q)", errOut, tt.stderr, out)
			}
			if tt.notLists && strings.Contains(out, "keep") {
				t.Errorf("listed sessions instead of usage: %q", out)
			}
		})
	}
	// Nothing above created a session: `new a b` used to create "a".
	if infos, err := s.mgr.List(context.Background(), "carol", ""); err != nil || len(infos) != 1 {
		t.Errorf("sessions after the table: %d (%v), want only keep", len(infos), err)
	}
}

// Over SSH every verb comes from the one table: each user verb of
// sessions.Verbs answers --help with that entry's usage and appears in
// `help`; each admin verb of admin.Verbs answers `sessions VERB --help`
// with its entry's usage (issue 11: one command tree for SSH, the admin
// socket and the web API).
func TestVerbsComeFromTheTable(t *testing.T) {
	s := startServer(t, false)
	key := sshtest.Signer(t)
	s.addUser("root", persist.RoleAdmin, "pw", key.PublicKey())
	c := s.mustDial("root", gossh.PublicKeys(key))
	_, help, _ := sshtest.Run(t, c, "help")
	if got := strings.Count(help, "\n  "); got != len(sessions.Verbs) {
		t.Errorf("help lists %d verbs, the table has %d:\n%s", got, len(sessions.Verbs), help)
	}
	type check struct{ name, cmd, want string }
	var checks []check
	for _, v := range sessions.Verbs {
		if !strings.Contains(help, "  "+v.Synopsis) {
			t.Errorf("help lacks %q:\n%s", v.Synopsis, help)
		}
		if v.Usage == "" || v.Kind == sessions.VerbAdmin {
			continue // the bare connection; the admin group answers with admin.Usage
		}
		want := sessions.VerbUsage(v.Name)
		if v.Name == "help" {
			want = sessions.HelpText() // help's help is the list itself
		}
		for _, name := range append([]string{v.Name}, v.Aliases...) {
			checks = append(checks, check{"user " + name, name + " --help", want})
		}
	}
	checks = append(checks, check{"admin group", "sessions --help", admin.Usage("")})
	for _, v := range admin.Verbs {
		for _, name := range append([]string{v.Name}, v.Aliases...) {
			checks = append(checks, check{"admin " + name, "sessions " + name + " --help", "usage: " + v.Usage + "\n"})
		}
	}
	for _, tt := range checks {
		t.Run(tt.name, func(t *testing.T) {
			if code, out, errOut := sshtest.Run(t, c, tt.cmd); code != 0 || out != tt.want {
				t.Errorf("%q: exit %d, stdout %q (stderr %q); want the table's %q", tt.cmd, code, out, errOut, tt.want)
			}
		})
	}
}
