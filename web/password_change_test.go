package web_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
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
			e, here, there, bob := aliceTwiceBobOnce(t, mode)
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

// aliceTwiceBobOnce signs alice in on two browsers and bob on a third,
// with web_login mode.
func aliceTwiceBobOnce(t *testing.T, mode string) (e *env, here, there, bob *browser) {
	t.Helper()
	withLogin(t, mode)
	e = newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	e.addUser("bob", persist.RoleUser, "pw-bob")
	here, there, bob = e.browser(), e.browser(), e.browser()
	here.mustSignIn("alice", "pw-alice")
	there.mustSignIn("alice", "pw-alice")
	bob.mustSignIn("bob", "pw-bob")
	return e, here, there, bob
}

// Open browser terminals end with the sign-ins, at once, not at the next
// keep-alive (found by the web trial: typing reached the session for 20 s
// after "sign out everywhere"); another user's terminal stays.
func TestSignOutEverywhereEndsOpenTerminals(t *testing.T) {
	for _, mode := range []string{"server", "client"} {
		t.Run(mode, func(t *testing.T) {
			_, here, there, bob := aliceTwiceBobOnce(t, mode)
			tm := there.dial("/s/new/ws", 80, 24)
			tm.waitFor(" alice · ")
			other := bob.dial("/s/new/ws", 80, 24)
			other.waitFor(" bob · ")

			here.post("/logout?everywhere=1", url.Values{"csrf": {here.csrf("/")}})
			// closed waits 10 s, half the keep-alive (20 s) that ended it before.
			if ce := tm.closed(); !strings.Contains(ce.Reason, "signed out") {
				t.Errorf("alice's open terminal closed with %d %q, want a sign-out reason", ce.Code, ce.Reason)
			}
			other.send("still here")
			other.waitFor("still here")
		})
	}
}
