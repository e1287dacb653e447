package sshd_test

import (
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"termhost/internal/sshtest"
)

// A login that created its account is told so where it can be seen: in
// the workspace's status bar when one opens (issue 9: the line printed
// before the alternate screen was lost), on stderr for a command. The
// first account is told it is the admin.
func TestNewAccountNotice(t *testing.T) {
	tests := []struct {
		name  string
		first bool   // sign up the first account (the admin) before this one
		cmd   string // "" : the workspace
		want  string
	}{
		{name: "first admin in the status bar", want: "Account root created: the first one, so it is an admin"},
		{name: "second account in the status bar", first: true, want: "Account bob created"},
		{name: "new session in the status bar", cmd: "new work", want: "Account root created: the first one"},
		{name: "a command on stderr", cmd: "ls", want: "It is the first account, so it is an admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, true)
			user := "root"
			if tt.first {
				sshtest.Run(t, s.mustDial("root", gossh.PublicKeys(sshtest.Signer(t))), "ls") // signs root up
				user = "bob"
			}
			c := s.mustDial(user, gossh.PublicKeys(sshtest.Signer(t)))
			if tt.cmd == "ls" {
				_, _, errOut := sshtest.Run(t, c, tt.cmd)
				if !strings.Contains(errOut, tt.want) {
					t.Fatalf("stderr %q, want %q", errOut, tt.want)
				}
				return
			}
			tm := shell(t, c, 80, 24, tt.cmd)
			tm.waitFor(" " + user + " · ")
			screen := tm.waitFor(tt.want)
			if lines := strings.Split(strings.TrimRight(screen, "\n "), "\n"); !strings.Contains(lines[len(lines)-1], tt.want) {
				t.Errorf("notice not in the status bar:\n%s", screen)
			}
			if tt.first && strings.Contains(screen, "admin") {
				t.Errorf("the second account is told it is an admin:\n%s", screen)
			}
			if strings.Contains(tm.errOut.String(), "created") {
				t.Errorf("also printed before the workspace: %q", tm.errOut.String())
			}
		})
	}
}
