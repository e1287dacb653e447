package sshd_test

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"termhost/internal/sshtest"
	"termhost/persist"
	"termhost/sessions"
)

// bareLF is an LF that no CR precedes.
var bareLF = regexp.MustCompile(`(^|[^\r])\n`)

// A command run on a pty (`ssh -t host ls`) ends its lines in CR LF, on
// stdout and stderr alike: the client's terminal is raw (issue 9: the
// listing stair-stepped). Without a pty, lines end in LF as in a pipe.
func TestPtyCommandOutputUsesCRLF(t *testing.T) {
	tests := []struct {
		name   string
		cmd    string
		pty    bool
		stream string // "stdout" or "stderr": where the lines are
		want   string
	}{
		{name: "ls", cmd: "ls", pty: true, stream: "stdout", want: "work"},
		{name: "ls --json", cmd: "ls --json", pty: true, stream: "stdout", want: `"play"`},
		{name: "help", cmd: "help", pty: true, stream: "stdout", want: "attach"},
		{name: "admin sessions list", cmd: "sessions list", pty: true, stream: "stdout", want: "play"},
		{name: "usage on stderr", cmd: "ls extra", pty: true, stream: "stderr", want: "usage: ls"},
		{name: "keys list", cmd: "keys list", pty: true, stream: "stdout", want: "FINGERPRINT"},
		{name: "no pty keeps LF", cmd: "ls", stream: "stdout", want: "work"},
	}
	s := startServer(t, false)
	key := sshtest.Signer(t)
	s.addUser("dana", persist.RoleAdmin, "pw", key.PublicKey())
	for _, name := range []string{"work", "play"} {
		if _, err := s.mgr.Create(context.Background(), sessions.User{Name: "dana"}, name); err != nil {
			t.Fatal(err)
		}
	}
	c := s.mustDial("dana", gossh.PublicKeys(key))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			if tt.pty {
				if err := sess.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{}); err != nil {
					t.Fatal(err)
				}
			}
			var out, errOut bytes.Buffer
			sess.Stdout, sess.Stderr = &out, &errOut
			_ = sess.Run(tt.cmd) // the exit status is another test's
			got := out.Bytes()
			if tt.stream == "stderr" {
				got = errOut.Bytes()
			}
			if !bytes.Contains(got, []byte(tt.want)) || !bytes.Contains(got, []byte("\n")) {
				t.Fatalf("%s = %q, want lines with %q", tt.stream, got, tt.want)
			}
			if bare := bareLF.Match(got); bare == tt.pty {
				t.Errorf("%s = %q: bare LF %v on pty=%v", tt.stream, got, bare, tt.pty)
			}
			if bytes.Contains(got, []byte("\r\r\n")) {
				t.Errorf("%s = %q: CR doubled", tt.stream, got)
			}
		})
	}
}
