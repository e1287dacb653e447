package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOpenSSHSignupConfirms: OpenSSH signing up with a password (through
// keyboard-interactive, its first choice) is asked for the password twice;
// a mistyped repeat makes no account, a right one makes the first admin,
// who is told so; self-service passwd then changes the password (issue 9).
func TestOpenSSHSignupConfirms(t *testing.T) {
	need(t, "ssh")
	s := startServer(t, "")
	tests := []struct {
		name, user, first, repeat string
		ok                        bool
		want                      string // in the output
	}{
		{name: "mistyped repeat", user: "dana", first: "pw-right", repeat: "pw-typo", want: "passwords do not match"},
		{name: "too short", user: "dana", first: "short", repeat: "short", want: "passwords are at least 8 characters"},
		{name: "repeated", user: "dana", first: "pw-right", repeat: "pw-right", ok: true, want: "it is an admin"},
		{name: "existing account asks once", user: "dana", first: "pw-right", repeat: "never-asked", ok: true, want: "ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := openSSH(t, s, tt.user, tt.first, tt.repeat, "ls", "")
			if (err == nil) != tt.ok || !strings.Contains(out, tt.want) {
				t.Fatalf("ssh %s ls: %v, want ok=%v and %q in:\n%s", tt.user, err, tt.ok, tt.want, out)
			}
			list, _ := s.run("", "user", "list")
			if has := strings.Contains(list, tt.user); has != tt.ok {
				t.Errorf("account %s exists: %v, want %v:\n%s", tt.user, has, tt.ok, list)
			}
		})
	}
	out, err := openSSH(t, s, "dana", "pw-right", "", "passwd", "pw-right\nnew-pw-long\nnew-pw-long\n")
	if err != nil || !strings.Contains(out, "password of dana changed") {
		t.Fatalf("passwd: %v\n%s", err, out)
	}
	if out, err := openSSH(t, s, "dana", "new-pw-long", "", "ls", ""); err != nil {
		t.Errorf("the new password does not log in: %v\n%s", err, out)
	}
}

// openSSH runs OpenSSH with keyboard-interactive only; its askpass answers
// the repeat question with repeat and any other with password.
func openSSH(t *testing.T, s *server, user, password, repeat, command, stdin string) (string, error) {
	t.Helper()
	askpass := filepath.Join(t.TempDir(), "askpass")
	script := "#!/bin/sh\ncase \"$*\" in *epeat*) echo '" + repeat + "' ;; *) echo '" + password + "' ;; esac\n"
	if err := os.WriteFile(askpass, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", "-F", "/dev/null", "-o", "PubkeyAuthentication=no",
		"-o", "PreferredAuthentications=keyboard-interactive", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "NumberOfPasswordPrompts=1", "-o", "LogLevel=INFO", // INFO: as users have it, it shows the server's instruction text
		"-p", s.port(), user+"@127.0.0.1", command)
	cmd.Env = append(os.Environ(), "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0")
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestUserPasswdOnTerminal: `termhost user passwd NAME` on a terminal asks
// for the new password twice without echo (issue 9: it had no prompt and
// required --password-stdin).
func TestUserPasswdOnTerminal(t *testing.T) {
	need(t, "tmux", "ssh")
	s := startServer(t, "")
	if out, err := s.run("old-pw-long\n", "user", "add", "erin", "--password-stdin"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	tm := newTerm(t, 100, 10, binary+" user passwd erin --data-dir "+s.dataDir+"; echo exit=$?")
	tm.waitFor("New password:")
	tm.typeText("tty-pw-long")
	tm.send("Enter")
	tm.waitFor("Repeat the new password:")
	tm.typeText("tty-pw-long")
	tm.send("Enter")
	screen := tm.waitFor("exit=0")
	if !strings.Contains(screen, "password of erin changed") || strings.Contains(screen, "tty-pw-long") {
		t.Errorf("screen after passwd:\n%s", screen)
	}
	if out, err := openSSH(t, s, "erin", "tty-pw-long", "", "ls", ""); err != nil {
		t.Errorf("the new password does not log in: %v\n%s", err, out)
	}
}
