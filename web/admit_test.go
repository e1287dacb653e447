package web_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"termhost/admission"
	"termhost/persist"
	"termhost/web"
)

// A login attempt holds one of the gate's unauthenticated slots while it
// runs: parked sign-ins from one address fill its per-source cap, the
// excess parallel sign-ins from it get 429 with Retry-After, another
// address still signs in, and the address signs in again once its
// attempts end (issue 11).
func TestSignInsCappedPerSource(t *testing.T) {
	const perSource = 4
	gate := admission.New(admission.Config{MaxUnauth: 64, MaxUnauthPerSource: perSource, Grace: wait,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	e := newEnvWith(t, func(c *web.Config) { c.Admission = gate })
	e.addUser("alice", persist.RoleUser, "pw-alice")
	e.addUser("bob", persist.RoleUser, "pw-bob")

	// Slow sign-ins: headers (with the form's CSRF cookie) sent, the body
	// never finishes.
	addr := strings.TrimPrefix(e.ts.URL, "http://")
	attacker := e.browser()
	attacker.get("/")
	csrf := attacker.cookie("termhost_csrf")
	var slow []net.Conn
	for range perSource {
		c, err := net.DialTimeout("tcp", addr, wait)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		slow = append(slow, c)
		fmt.Fprintf(c, "POST /login HTTP/1.1\r\nHost: %s\r\nCookie: termhost_csrf=%s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nuser=al", addr, csrf)
	}
	waitUntil(t, "the slow sign-ins hold the source's slots", func() bool { _, n := gate.Pending("127.0.0.1"); return n == perSource })

	tests := []struct {
		name     string
		from     string // local address; "" 127.0.0.1
		user, pw string
		parallel int
		want     int
	}{
		{name: "same address over the cap", user: "alice", pw: "pw-alice", parallel: 12, want: http.StatusTooManyRequests},
		{name: "another address", from: "127.0.0.2", user: "bob", pw: "pw-bob", parallel: 1, want: http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browserFrom(tt.from)
			b.get("/")
			form := url.Values{"csrf": {b.cookie("termhost_csrf")}, "user": {tt.user}, "password": {tt.pw}, "next": {"/"}}
			var wg sync.WaitGroup
			results := make(chan string, tt.parallel)
			for range tt.parallel {
				wg.Go(func() {
					req, _ := http.NewRequest("POST", e.ts.URL+"/login", strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					resp, err := b.c.Do(req)
					if err != nil {
						results <- err.Error()
						return
					}
					resp.Body.Close()
					if resp.StatusCode != tt.want || (tt.want == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "") {
						results <- fmt.Sprintf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
					}
				})
			}
			wg.Wait()
			close(results)
			for r := range results {
				t.Errorf("%s: %s; want %d (429 with Retry-After)", tt.name, r, tt.want)
			}
		})
	}

	// The parked attempts end (their clients go): the address signs in again.
	for _, c := range slow {
		c.Close()
	}
	waitUntil(t, "the slots are free", func() bool { _, n := gate.Pending("127.0.0.1"); return n == 0 })
	e.browser().mustSignIn("alice", "pw-alice")
}

// conn_rate over the web: each new connection spends a token of its
// source's bucket; over the rate its request gets 429 with Retry-After
// (1/rate) and the connection closes, another address is untouched, and a
// refilled bucket lets the address in again (issue 11).
func TestConnRateAnswers429(t *testing.T) {
	now := &clock{t: time.Now()}
	rate := admission.NewConnRate(0.5, 2, now.Now) // a token every 2 s, 2 at once
	e := newEnvWith(t, func(c *web.Config) { c.ConnRate = rate })
	get := func(from string) *http.Response {
		t.Helper()
		b := e.browserFrom(from)
		b.c.Transport.(*http.Transport).DisableKeepAlives = true // a new connection per request
		resp, _ := b.get("/")
		return resp
	}
	tests := []struct {
		name   string
		from   string
		wait   time.Duration // the clock moves this much first
		status int
	}{
		{name: "first connection", status: http.StatusOK},
		{name: "second connection (burst)", status: http.StatusOK},
		{name: "third connection over the rate", status: http.StatusTooManyRequests},
		{name: "another address", from: "127.0.0.2", status: http.StatusOK},
		{name: "after a token's time", wait: 2 * time.Second, status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now.Add(tt.wait)
			resp := get(tt.from)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == http.StatusTooManyRequests && (resp.Header.Get("Retry-After") != "2" || !resp.Close) {
				t.Errorf("Retry-After %q, closes %v; want \"2\" and a closed connection", resp.Header.Get("Retry-After"), resp.Close)
			}
		})
	}
}
