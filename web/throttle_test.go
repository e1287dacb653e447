package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"termhost/persist"
)

// TestSignInThrottled: once an account's failures push its next free slot
// past the attempt's bound (auth.ErrThrottled, issue 8), the sign-in page
// says "try again later" instead of "wrong password", even to the right
// password, and sets no login.
func TestSignInThrottled(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	b.get("/")
	form := func(password string) url.Values {
		return url.Values{"csrf": {b.cookie("termhost_csrf")}, "user": {"alice"}, "password": {password}, "next": {"/"}}
	}
	throttledAt := 0
	for i := 1; i <= 10 && throttledAt == 0; i++ {
		resp, body := b.post("/login", form("wrong"))
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i, resp.StatusCode)
		}
		if strings.Contains(body, "try again later") {
			throttledAt = i
		}
	}
	if throttledAt == 0 {
		t.Fatal("10 wrong passwords in a row and the page never said 'try again later'")
	}
	tests := []struct {
		name     string
		password string
	}{
		{name: "another guess", password: "wrong"},
		{name: "the right password", password: "pw-alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := b.post("/login", form(tt.password))
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Too many failed logins for this account; try again later.") || b.loginToken() != "" {
				t.Errorf("status %d, login %q, page says 'try again later': %v; want 401, no login, and the message",
					resp.StatusCode, b.loginToken(), strings.Contains(body, "try again later"))
			}
		})
	}
	t.Logf("refused unchecked from guess %d on", throttledAt)
}
