package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"termhost/persist"
	"termhost/sessions"
	"termhost/web"
)

// webClients returns the web attachments of user's session named name.
func webClients(t *testing.T, e *env, user string) []sessions.ClientView {
	t.Helper()
	infos, err := e.mgr.List(context.Background(), user, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []sessions.ClientView
	for _, in := range infos {
		for _, c := range in.Clients {
			if c.Transport == "web" {
				out = append(out, c)
			}
		}
	}
	return out
}

// TestTerminal: a new session over the WebSocket, typing, resize, and a
// reattach that lands back where it was.
func TestTerminal(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	b.mustSignIn("alice", "pw-alice")

	tm := b.dial("/s/new/ws?cols=80&rows=24", 80, 24)
	var hello struct{ Type, ID, Name string }
	select {
	case h := <-tm.hello:
		if err := json.Unmarshal([]byte(h), &hello); err != nil || hello.Type != "session" || hello.ID == "" {
			t.Fatalf("first text frame %q: want {type: session, id, name}", h)
		}
	case <-time.After(wait):
		t.Fatal("no session frame")
	}
	tm.waitFor("alice")
	tm.send("hello from the web")
	tm.waitFor("hello from the web")
	if cl := webClients(t, e, "alice"); len(cl) != 1 || cl[0].Width != 80 || cl[0].Height != 24 {
		t.Fatalf("web clients %+v; want one at 80×24", cl)
	}

	tm.control(`{"type":"resize","cols":100,"rows":30}`)
	waitUntil(t, "resize to 100×30", func() bool {
		cl := webClients(t, e, "alice")
		return len(cl) == 1 && cl[0].Width == 100 && cl[0].Height == 30
	})

	// A reload: the page connects again to the session's id and takes over
	// its own old socket; the text is there.
	tm2 := b.dial("/s/"+hello.ID+"/ws?cols=80&rows=24", 80, 24)
	tm2.waitFor("hello from the web")
	if ce := tm.closed(); ce.Code != web.CloseEnded || !strings.Contains(ce.Reason, "via web") {
		t.Fatalf("taken-over socket closed with %d %q; want %d and the takeover reason", ce.Code, ce.Reason, web.CloseEnded)
	}

	// ?shared=1 joins as a second client: both stay, both drive it.
	tm3 := b.dial("/s/"+hello.ID+"/ws?shared=1&cols=80&rows=24", 80, 24)
	tm3.waitFor("hello from the web")
	tm3.send(" and a friend")
	tm2.waitFor("hello from the web and a friend")
	if cl := webClients(t, e, "alice"); len(cl) != 2 {
		t.Fatalf("after a shared attach: %d web clients, want 2", len(cl))
	}
}

// TestTerminalCloseCodes: the page learns from the close code whether to
// come back: ended on purpose (4000, with why) or restarting (4001).
func TestTerminalCloseCodes(t *testing.T) {
	tests := []struct {
		name   string
		act    func(e *env, id string)
		code   websocket.StatusCode
		reason string
	}{
		{"admin kill", func(e *env, id string) { e.mgr.Kill(context.Background(), id, "root") }, web.CloseEnded, "ended: killed"},
		{"admin detach", func(e *env, id string) { e.mgr.Detach(context.Background(), id, "root") }, web.CloseEnded, ""},
		{"server shutdown", func(e *env, id string) {
			e.web.Drain()
			e.mgr.Shutdown(context.Background(), "[server shutting down; your session is saved]")
		}, web.CloseRestart, "server shutting down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.addUser("alice", persist.RoleUser, "pw-alice")
			b := e.browser()
			b.mustSignIn("alice", "pw-alice")
			tm := b.dial("/s/new/ws", 80, 24)
			tm.waitFor("alice")
			var hello struct{ ID string }
			json.Unmarshal([]byte(<-tm.hello), &hello)
			tt.act(e, hello.ID)
			ce := tm.closed()
			if ce.Code != tt.code || !strings.Contains(ce.Reason, tt.reason) {
				t.Fatalf("closed with %d %q; want %d containing %q", ce.Code, ce.Reason, tt.code, tt.reason)
			}
		})
	}
}

// TestBadFrames: invalid control frames are dropped and the terminal
// goes on; an oversized message ends the connection (1009), and the
// server keeps serving.
func TestBadFrames(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	b.mustSignIn("alice", "pw-alice")
	tm := b.dial("/s/new/ws", 80, 24)
	tm.waitFor("alice")
	for _, f := range []string{
		`not json`,
		`{"type":"resize","cols":0,"rows":10}`,
		`{"type":"resize","cols":-5,"rows":10}`,
		`{"type":"resize","cols":100000,"rows":100000}`,
		`{"type":"paste","data":"x"}`,
		`{"type":"resize","cols":90,"rows":20}]`,
		strings.Repeat(" ", 300) + `{"type":"resize","cols":90,"rows":20}`,
	} {
		tm.control(f)
	}
	tm.send("still typing")
	tm.waitFor("still typing")
	if cl := webClients(t, e, "alice"); len(cl) != 1 || cl[0].Width != 80 {
		t.Fatalf("bad resize frames changed the size: %+v", cl)
	}
	if err := tm.ws.Write(context.Background(), websocket.MessageBinary, make([]byte, 65<<10)); err != nil {
		t.Fatalf("write big frame: %v", err)
	}
	if ce := tm.closed(); ce.Code != websocket.StatusMessageTooBig {
		t.Fatalf("oversized frame: closed with %d %q, want %d", ce.Code, ce.Reason, websocket.StatusMessageTooBig)
	}
	tm2 := b.dial("/s/new/ws", 80, 24)
	tm2.waitFor("alice")
}

// TestSocketOrigin: another site's page cannot open a terminal with the
// user's cookie; no login, no socket.
func TestSocketOrigin(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	b.mustSignIn("alice", "pw-alice")
	anon := e.browser()
	tests := []struct {
		name   string
		b      *browser
		origin string
		want   int
	}{
		{"another site", b, "http://evil.example", http.StatusForbidden},
		{"no login", anon, e.ts.URL, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, resp, err := tt.b.dialRaw("/s/new/ws", tt.origin)
			if err == nil || resp == nil || resp.StatusCode != tt.want {
				status := 0
				if resp != nil {
					status = resp.StatusCode
				}
				t.Fatalf("dial: %v, status %d; want refused with %d", err, status, tt.want)
			}
		})
	}
	if infos, _ := e.mgr.List(context.Background(), "alice", ""); len(infos) != 0 {
		t.Fatalf("refused sockets created %d sessions", len(infos))
	}
}

// TestSignOutEndsTerminal: "sign out everywhere" also ends open terminals
// (at the next keep-alive; here the server is asked directly).
func TestSignOutEverywhereRefusesSocket(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	b.mustSignIn("alice", "pw-alice")
	b.post("/logout?everywhere=1", url.Values{"csrf": {b.csrf("/")}})
	if _, resp, err := b.dialRaw("/s/new/ws", e.ts.URL); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("socket after sign-out: %v; want 401", err)
	}
}

// TestWeblink: a one-time link signs the browser in once, within its
// life, opens its session, and never shows up in the access log.
func TestWeblink(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	alice := sessions.User{Name: "alice"}
	sess, err := e.mgr.Create(context.Background(), alice, "work")
	if err != nil {
		t.Fatal(err)
	}
	link := func(ref string) string {
		t.Helper()
		u, err := e.web.Weblink(context.Background(), alice, ref, nil)
		if err != nil {
			t.Fatalf("Weblink(%q): %v", ref, err)
		}
		p, _ := url.Parse(u)
		if tok := p.Query().Get("t"); len(tok) < 22 { // 128 bits in base64url
			t.Fatalf("link token %q is shorter than 128 bits", tok)
		}
		return p.RequestURI()
	}
	first := link("work")
	tests := []struct {
		name     string
		path     func() string
		advance  time.Duration
		status   int
		location string
	}{
		{"first use signs in and opens the session", func() string { return first }, 0, http.StatusSeeOther, "/s/" + sess.ID()},
		{"second use refused", func() string { return first }, 0, http.StatusGone, ""},
		{"expired after 60 s", func() string { return link("work") }, 61 * time.Second, http.StatusGone, ""},
		{"without a session, the only one", func() string { return link("") }, 0, http.StatusSeeOther, "/s/" + sess.ID()},
		{"garbage", func() string { return "/link?t=abc" }, 0, http.StatusGone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path()
			e.clock.Add(tt.advance)
			b := e.browser()
			resp, body := b.get(path)
			if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
				t.Fatalf("GET link: %d to %q; want %d to %q", resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location)
			}
			// A browser the link did not sign in is offered the sign-in
			// page, not "your sessions" it has none of.
			if tt.status == http.StatusGone && (!strings.Contains(body, ">Sign in</a>") || strings.Contains(body, "your sessions")) {
				t.Fatalf("refused link page offers no sign-in:\n%s", body)
			}
			signedIn := b.loginToken() != ""
			if signedIn != (tt.status == http.StatusSeeOther) {
				t.Fatalf("signed in: %v after status %d", signedIn, resp.StatusCode)
			}
			if signedIn {
				if resp, _ := b.get(tt.location); resp.StatusCode != http.StatusOK {
					t.Fatalf("session page after link: %d", resp.StatusCode)
				}
			}
		})
	}
	if _, err := e.web.Weblink(context.Background(), alice, "nope", nil); err == nil {
		t.Fatal("Weblink for an unknown session succeeded")
	}
	tok := strings.SplitN(first, "t=", 2)[1]
	if strings.Contains(e.log.String(), tok) {
		t.Fatalf("the access log holds a link token:\n%s", e.log.String())
	}
	if !strings.Contains(e.log.String(), "t=REDACTED") {
		t.Fatalf("the access log does not show redacted link requests:\n%s", e.log.String())
	}
}

// TestSignOutEndsThisBrowsersTerminals: "Sign out" ends the open
// terminals of that browser's login at once, saying why (they went on
// taking keys until their next keep-alive, up to 20 s: newcomer trial),
// and leaves another browser's sign-in of the same user alone.
func TestSignOutEndsThisBrowsersTerminals(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	here, there := e.browser(), e.browser()
	here.mustSignIn("alice", "pw-alice")
	there.mustSignIn("alice", "pw-alice")
	sess, err := e.mgr.Create(context.Background(), sessions.User{Name: "alice"}, "work")
	if err != nil {
		t.Fatal(err)
	}
	mine := here.dial("/s/"+sess.ID()+"/ws?shared=1", 80, 24)
	mine.waitFor("alice")
	theirs := there.dial("/s/"+sess.ID()+"/ws?shared=1", 80, 24)
	theirs.waitFor("alice")

	start := time.Now()
	if resp, _ := here.post("/logout", url.Values{"csrf": {here.csrf("/")}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	ce := mine.closed()
	if ce.Code != web.CloseEnded || !strings.Contains(ce.Reason, "signed out") || time.Since(start) > 5*time.Second {
		t.Fatalf("this browser's terminal closed with %d %q after %v, want %d \"signed out…\" at once", ce.Code, ce.Reason, time.Since(start), web.CloseEnded)
	}
	theirs.send("still here")
	theirs.waitFor("still here") // the other browser's terminal goes on
}

// TestWeblinkDoesNotSwitchAccounts: a link followed in a browser signed in
// as someone else (a page on another site can send it there) does not
// switch accounts by itself: the page names both, and only its POST —
// CSRF token and Origin checked — signs the link's user in. The same user's
// link still signs in at once (TestWeblink).
func TestWeblinkDoesNotSwitchAccounts(t *testing.T) {
	e := newEnv(t)
	e.addUser("bob", persist.RoleUser, "pw-bob")
	e.addUser("carol", persist.RoleUser, "pw-carol")
	carol := sessions.User{Name: "carol"}
	sess, err := e.mgr.Create(context.Background(), carol, "trap")
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.web.Weblink(context.Background(), carol, "trap", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := url.Parse(u)
	bob := e.browser()
	bob.mustSignIn("bob", "pw-bob")
	before := bob.loginToken()

	resp, body := bob.get(p.RequestURI())
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "signed in as bob") || !strings.Contains(body, "Sign in as carol") {
		t.Fatalf("GET link while signed in as bob: %d\n%s\nwant 200 and a page naming both accounts", resp.StatusCode, body)
	}
	if bob.loginToken() != before {
		t.Fatal("the GET changed the login cookie")
	}
	if resp, me := bob.get("/api/me"); resp.StatusCode != http.StatusOK || !strings.Contains(me, `"bob"`) {
		t.Fatalf("after the GET /api/me = %d %s, want bob still signed in", resp.StatusCode, me)
	}
	m := regexp.MustCompile(`name="t" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no link token in the switch form:\n%s", body)
	}
	good := bob.csrf("/")
	for _, tt := range []struct {
		name   string
		form   url.Values
		header []string
	}{
		{"no CSRF token", url.Values{"t": {m[1]}}, nil},
		{"another site", url.Values{"t": {m[1]}, "csrf": {good}}, []string{"Origin", "http://evil.example"}},
	} {
		if resp, _ := bob.post("/link", tt.form, tt.header...); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /link with %s: %d, want 403", tt.name, resp.StatusCode)
		}
	}
	resp, _ = bob.post("/link", url.Values{"t": {m[1]}, "csrf": {good}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/s/"+sess.ID() {
		t.Fatalf("POST /link: %d to %q, want 303 to carol's session", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, me := bob.get("/api/me"); resp.StatusCode != http.StatusOK || !strings.Contains(me, `"carol"`) {
		t.Fatalf("after the switch /api/me = %d %s, want carol", resp.StatusCode, me)
	}
	if resp, _ := bob.post("/link", url.Values{"t": {m[1]}, "csrf": {bob.csrf("/")}}); resp.StatusCode != http.StatusGone {
		t.Errorf("the switch's token a second time: %d, want 410", resp.StatusCode)
	}
	if resp, _ := bob.get(p.RequestURI()); resp.StatusCode != http.StatusGone {
		t.Errorf("the original link after the switch page: %d, want 410 (used)", resp.StatusCode)
	}
}

// TestAPI: the JSON API lists with the fields of `sessions list --json`
// and runs admin verbs for admins only.
func TestAPI(t *testing.T) {
	e := newEnv(t)
	e.addUser("root", persist.RoleAdmin, "pw-root")
	e.addUser("alice", persist.RoleUser, "pw-alice")
	root, alice := e.browser(), e.browser()
	root.mustSignIn("root", "pw-root")
	alice.mustSignIn("alice", "pw-alice")
	s1, _ := e.mgr.Create(context.Background(), sessions.User{Name: "alice"}, "one")
	e.mgr.Create(context.Background(), sessions.User{Name: "root", Admin: true}, "mine")

	list := func(b *browser, path string) (int, []map[string]any) {
		t.Helper()
		resp, body := b.get(path)
		var out []map[string]any
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				t.Fatalf("%s: %v\n%s", path, err, body)
			}
		}
		return resp.StatusCode, out
	}
	tests := []struct {
		name   string
		b      *browser
		path   string
		status int
		n      int
	}{
		{"own sessions", alice, "/api/sessions", http.StatusOK, 1},
		{"admin's own", root, "/api/sessions", http.StatusOK, 1},
		{"admin all", root, "/api/sessions?all=1", http.StatusOK, 2},
		{"user asking all", alice, "/api/sessions?all=1", http.StatusForbidden, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, got := list(tt.b, tt.path)
			if status != tt.status || len(got) != tt.n {
				t.Fatalf("GET %s: %d with %d sessions; want %d with %d", tt.path, status, len(got), tt.status, tt.n)
			}
			for _, s := range got {
				for _, k := range []string{"id", "user", "name", "state", "node", "created_at", "last_input_at", "idle_seconds", "clients", "apps"} {
					if _, ok := s[k]; !ok {
						t.Errorf("session %v lacks %q", s["id"], k)
					}
				}
			}
		})
	}

	act := func(b *browser, verb string, form url.Values) int {
		t.Helper()
		resp, _ := b.post("/api/sessions/"+s1.ID()+"/"+verb, form, "X-CSRF-Token", b.csrf("/"))
		return resp.StatusCode
	}
	for _, tt := range []struct {
		name   string
		b      *browser
		verb   string
		form   url.Values
		status int
	}{
		{"user cannot kill", alice, "kill", nil, http.StatusForbidden},
		{"admin message", root, "message", url.Values{"text": {"hello alice"}}, http.StatusOK},
		{"message without text", root, "message", nil, http.StatusBadRequest},
		{"flag-like text refused", root, "message", url.Values{"text": {"--all"}}, http.StatusBadRequest},
		{"unknown verb", root, "explode", nil, http.StatusNotFound},
		{"admin kill", root, "kill", nil, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := act(tt.b, tt.verb, tt.form); got != tt.status {
				t.Fatalf("POST %s: %d, want %d", tt.verb, got, tt.status)
			}
		})
	}
	if status, got := list(alice, "/api/sessions"); status != http.StatusOK || len(got) != 0 {
		t.Fatalf("after kill alice lists %d sessions, want 0", len(got))
	}
	entries, _ := e.store.AuditLog(context.Background(), 10)
	if len(entries) == 0 || entries[0].Actor != "root" || entries[0].Action != "kill" {
		t.Fatalf("kill over the API not audited as root: %+v", entries)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestClientsLeaveNothingBehind: a web client's goroutines (handler,
// outbox, keep-alive, resizes) end when it leaves (SPEC §7: returned when
// the client leaves).
func TestClientsLeaveNothingBehind(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	b.mustSignIn("alice", "pw-alice")
	warm := b.dial("/s/new/ws", 80, 24) // the manager's and server's own goroutines start
	warm.waitFor("alice")
	warm.ws.Close(websocket.StatusNormalClosure, "")
	warm.scr.Close()
	waitUntil(t, "the warm-up client gone", func() bool { return len(webClients(t, e, "alice")) == 0 })
	base := runtime.NumGoroutine()
	const n = 10
	var terms []*term
	for range n {
		tm := b.dial("/s/new/ws", 80, 24)
		tm.waitFor("alice")
		terms = append(terms, tm)
	}
	if got := runtime.NumGoroutine() - base; got < 3*n {
		t.Fatalf("%d clients added only %d goroutines: is the measure wrong?", n, got)
	}
	for _, tm := range terms {
		tm.ws.Close(websocket.StatusNormalClosure, "")
		tm.scr.Close() // the test's own emulator goroutine
	}
	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine() > base+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left after the clients left (%d before):\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}
