package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A new account's password shorter than auth.MinPasswordLength is refused
// on the first form, with the rule said, not "Wrong user name or
// password" (issue 9).
func TestSignupShortPassword(t *testing.T) {
	tests := []struct {
		name, password, again string
	}{
		{name: "first form", password: "short"},
		{name: "repeated", password: "short", again: "short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.browser()
			b.get("/")
			form := url.Values{"csrf": {b.cookie("termhost_csrf")}, "user": {"carol"}, "password": {tt.password}, "next": {"/"}}
			if tt.again != "" {
				form.Set("password2", tt.again)
			}
			resp, body := b.post("/login", form)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "passwords are at least 8 characters") {
				t.Fatalf("POST /login: %d:\n%s", resp.StatusCode, body)
			}
			if _, err := e.store.GetUser(context.Background(), "carol"); err == nil {
				t.Fatal("an account was made")
			}
		})
	}
}
