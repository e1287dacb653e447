package web_test

import (
	"context"
	"net"
	"net/http"
	"testing"

	"termhost/auth"
	"termhost/persist"
)

// TestPasswordChangeEndsSignIns: a changed password ends every web sign-in
// of the account — stored logins (web_login: server) and sealed cookies
// (web_login: client) alike — and leaves other users' alone; the new
// password signs in at once.
func TestPasswordChangeEndsSignIns(t *testing.T) {
	for _, mode := range []string{"server", "client"} {
		t.Run(mode, func(t *testing.T) {
			withLogin(t, mode)
			e := newEnv(t)
			e.addUser("alice", persist.RoleUser, "pw-alice")
			e.addUser("bob", persist.RoleUser, "pw-bob")
			here, there, bob := e.browser(), e.browser(), e.browser()
			here.mustSignIn("alice", "pw-alice")
			there.mustSignIn("alice", "pw-alice")
			bob.mustSignIn("bob", "pw-bob")
			tok := here.loginToken()

			req := auth.LoginRequest{Transport: "ssh", User: "alice", Password: "pw-alice", Remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}}
			ended, err := e.auth.ChangePassword(context.Background(), e.store, req, "new-pw-alice")
			if err != nil {
				t.Fatalf("change password: %v", err)
			}
			if want := map[string]int{"server": 2, "client": 0}[mode]; ended != want {
				t.Errorf("%d stored sign-ins ended, want %d", ended, want)
			}
			for name, b := range map[string]*browser{"here": here, "there": there} {
				if resp, _ := b.get("/api/me"); resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("alice's browser %s after the change: /api/me %d, want 401", name, resp.StatusCode)
				}
			}
			if got := bearerStatus(t, e, "/api/me", tok); got != http.StatusUnauthorized {
				t.Errorf("a copy of alice's old token: /api/me %d, want 401", got)
			}
			if resp, _ := bob.get("/api/me"); resp.StatusCode != http.StatusOK {
				t.Errorf("bob's browser: /api/me %d, want 200", resp.StatusCode)
			}
			there.mustSignIn("alice", "new-pw-alice")
			if resp, _ := there.get("/api/me"); resp.StatusCode != http.StatusOK {
				t.Errorf("sign-in with the new password: /api/me %d, want 200", resp.StatusCode)
			}
		})
	}
}
