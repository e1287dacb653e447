package auth_test

import (
	"errors"
	"testing"

	"termhost/auth"
)

// User names are ASCII only, so no invisible, bidi or wide character gets
// into one (issue 9 checked: only session names needed a fix).
func TestValidNameRefusesInvisible(t *testing.T) {
	tests := []struct {
		name, user string
		ok         bool
	}{
		{name: "plain", user: "alice", ok: true},
		{name: "digits dash underscore", user: "a1-b_c", ok: true},
		{name: "zero-width space", user: "ad\u200bmin"},
		{name: "zero-width joiner", user: "a\u200db"},
		{name: "bom", user: "\ufeffalice"},
		{name: "tag", user: "alice\U000e0041"},
		{name: "rlm", user: "alice\u200f"},
		{name: "cjk", user: "中文"},
		{name: "escape", user: "a\x1b[2J"},
		{name: "flag", user: "-rf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := auth.ValidName(tt.user)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, auth.ErrBadName)) {
				t.Fatalf("ValidName(%q) = %v, want ok=%v", tt.user, err, tt.ok)
			}
		})
	}
}
