package auth_test

import (
	"fmt"
	"net"
	"testing"

	"termhost/auth"
	"termhost/persist"
	"termhost/persist/memory"
)

// TestNoFirstAdmin (issue 12 finding 5): with NoFirstAdmin (a memory
// node, whose admins come from the config file) the first loopback signup
// is a plain user — after every restart, when the memory store is empty
// again, too.
func TestNoFirstAdmin(t *testing.T) {
	lo := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	tests := []struct {
		name         string
		noFirstAdmin bool
		wantRole     string
	}{
		{name: "rule on (durable store)", wantRole: persist.RoleAdmin},
		{name: "rule off (memory node)", noFirstAdmin: true, wantRole: persist.RoleUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for restart := range 2 { // an empty store each time, as a memory node after a restart
				a := &auth.Authenticator{Users: memory.New(nil), AllowSignup: true, NoFirstAdmin: tt.noFirstAdmin}
				name := fmt.Sprintf("first%d", restart)
				u, err := a.Signup(t.Context(), name, "", "a long enough passphrase 1", lo)
				if err != nil {
					t.Fatal(err)
				}
				if u.Role != tt.wantRole {
					t.Errorf("start %d: first loopback signup is %s, want %s", restart, u.Role, tt.wantRole)
				}
			}
		})
	}
}
