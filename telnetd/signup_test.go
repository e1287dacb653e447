package telnetd_test

import (
	"context"
	"testing"
)

// Telnet signup says why no account was made: a password under
// auth.MinPasswordLength is refused before the repeat is asked, and a
// repeat that differs is named; an account made is told so in the
// workspace's status bar, the first one that it is the admin (issue 9).
func TestTelnetSignupMessages(t *testing.T) {
	tests := []struct {
		name     string
		password string
		repeat   string // "" : no repeat is asked
		want     string
		account  bool
	}{
		{name: "too short", password: "short", want: "passwords are at least 8 characters (this one has 5)"},
		{name: "repeat differs", password: "long-enough", repeat: "long-enougH", want: "the passwords did not match"},
		{name: "created: the first admin is told in the status bar", password: "long-enough", repeat: "long-enough",
			want: "Account erin created: the first one, so it is an admin", account: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := start(t, options{signup: true})
			c := n.dialFrom("127.0.0.2")
			c.mustSee("login: ")
			c.send("erin\r\n")
			c.mustSee("Password: ")
			c.send(tt.password + "\r\n")
			if tt.repeat != "" {
				c.mustSee("Repeat the password to create it: ")
				c.send(tt.repeat + "\r\n")
			}
			if tt.account {
				c.mustSee(" erin · ") // the workspace, then the notice in it
			}
			c.mustSee(tt.want)
			if !tt.account {
				c.mustSee("login: ") // asked again, no account
			}
			_, err := n.store.GetUser(context.Background(), "erin")
			if (err == nil) != tt.account {
				t.Errorf("account made = %v, want %v", err == nil, tt.account)
			}
		})
	}
}
