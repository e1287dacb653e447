package sshd_test

import (
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"termhost/internal/sshtest"
	"termhost/internal/testterm"
	"termhost/sessions"
)

// A pty-req or a window-change larger than the bounds is cut and told in
// the status bar (issue 8; the one place is sessions, see
// sessions.TestWindowClampIsTold).
func TestWindowClampToldOverSSH(t *testing.T) {
	huge := sessions.Size{Width: 65535, Height: 65535}
	shown := sessions.ClampSize(huge, sessions.Size{})
	told := sessions.ClampNotice(huge, shown)
	tests := []struct {
		name string
		open func(t *testing.T, c *gossh.Client) *term
	}{
		{name: "pty-req", open: func(t *testing.T, c *gossh.Client) *term {
			return hugeShell(t, c, testterm.New(shown.Width, shown.Height))
		}},
		{name: "window-change", open: func(t *testing.T, c *gossh.Client) *term {
			tm := shell(t, c, 80, 24, "")
			tm.waitFor(" bob · ")
			tm.scr.Resize(shown.Width, shown.Height)
			if err := tm.sess.WindowChange(huge.Height, huge.Width); err != nil {
				t.Fatal(err)
			}
			return tm
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, true)
			tm := tt.open(t, s.mustDial("bob", gossh.PublicKeys(sshtest.Signer(t))))
			tm.waitFor(told)
			tm.send("typed")
			tm.waitFor("typed")
		})
	}
}
