package telnetd_test

import (
	"testing"

	"termhost/sessions"
	"termhost/telnet"
)

// NAWS larger than the bounds — with the login or later — is cut and told
// in the status bar (issue 8; the one place is sessions, see
// sessions.TestWindowClampIsTold).
func TestWindowClampToldOverTelnet(t *testing.T) {
	// IAC WILL NAWS, IAC SB NAWS 65535 65535 (each 0xFF doubled) IAC SE.
	naws := "\xff\xfb\x1f" + "\xff\xfa\x1f" + "\xff\xff\xff\xff\xff\xff\xff\xff" + "\xff\xf0"
	// The telnet engine caps each dimension at telnet.MaxDimension first.
	huge := sessions.Size{Width: telnet.MaxDimension, Height: telnet.MaxDimension}
	told := sessions.ClampNotice(huge, sessions.ClampSize(huge, sessions.Size{}))
	tests := []struct {
		name   string
		before bool // NAWS sent before the login, else once the workspace is up
	}{
		{name: "with the login", before: true},
		{name: "later", before: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := start(t, options{})
			n.addUser("wendy", "right-password")
			c := n.dialFrom("127.0.0.2")
			if tt.before {
				c.send(naws)
			}
			if !c.login("wendy", "right-password") {
				t.Fatal("login failed")
			}
			if !tt.before {
				c.send(naws) // login saw the workspace
			}
			c.mustSee(told)
			c.send("typed")
			c.mustSee("typed")
		})
	}
}
