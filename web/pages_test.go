package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"termhost/persist"
	"termhost/sessions"
)

// TestNewSessionIsAPost: opening a session changes state, so only the
// sessions page's form (POST, CSRF token, this site's Origin) opens one. A
// GET of /s/new — a link on another site, followed with the Lax cookie —
// shows the button and opens nothing.
func TestNewSessionIsAPost(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	b.mustSignIn("alice", "pw-alice")
	count := func() int {
		t.Helper()
		list, err := e.mgr.List(context.Background(), "alice", "")
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}

	resp, body := b.get("/s/new")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `action="/s/new"`) || strings.Contains(body, "term.js") {
		t.Fatalf("GET /s/new: %d, want 200 and the New session form, no terminal:\n%s", resp.StatusCode, body)
	}
	if n := count(); n != 0 {
		t.Fatalf("GET /s/new opened %d session(s), want 0", n)
	}
	if _, body := b.get("/"); !strings.Contains(body, `<form method="post" action="/s/new">`) {
		t.Fatalf("the sessions page has no New session form:\n%s", body)
	}

	good := b.csrf("/")
	refused := []struct {
		name   string
		form   url.Values
		header []string
	}{
		{"no token", url.Values{}, nil},
		{"a wrong token", url.Values{"csrf": {"x" + good}}, nil},
		{"another site", url.Values{"csrf": {good}}, []string{"Origin", "http://evil.example"}},
	}
	for _, tt := range refused {
		if resp, _ := b.post("/s/new", tt.form, tt.header...); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /s/new with %s: %d, want 403", tt.name, resp.StatusCode)
		}
	}
	if n := count(); n != 0 {
		t.Fatalf("refused POSTs opened %d session(s), want 0", n)
	}

	resp, _ = b.post("/s/new", url.Values{"csrf": {good}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/s/") {
		t.Fatalf("POST /s/new: %d to %q, want 303 to /s/{id}", resp.StatusCode, loc)
	}
	list, err := e.mgr.List(context.Background(), "alice", "")
	if err != nil || len(list) != 1 || loc != "/s/"+list[0].ID {
		t.Fatalf("after POST /s/new to %s: sessions %+v (%v), want the one it names", loc, list, err)
	}
	if resp, body := b.get(loc); resp.StatusCode != http.StatusOK || !strings.Contains(body, "term.js") {
		t.Fatalf("GET %s: %d, want the terminal page", loc, resp.StatusCode)
	}
	// The terminal attaches to it: no second session.
	b.dial(loc+"/ws", 80, 24).waitFor("alice")
	if n := count(); n != 1 {
		t.Errorf("%d sessions after attaching, want 1", n)
	}
}

// TestBodyLimits: a form or API body over 16 KiB is 413 (it used to read as
// an empty form: "stale form" 403, "message needs text" 400), and an admin
// verb on a name two users share is 409, not 500 (attack trial).
func TestBodyLimits(t *testing.T) {
	e := newEnv(t)
	e.addUser("root", persist.RoleAdmin, "pw-root")
	e.addUser("alice", persist.RoleUser, "pw-alice")
	b := e.browser()
	b.mustSignIn("root", "pw-root")
	good := b.csrf("/")
	big := strings.Repeat("x", 17<<10)
	for _, u := range []string{"root", "alice"} {
		if _, err := e.mgr.Create(context.Background(), sessions.User{Name: u, Admin: u == "root"}, "same"); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		path   string
		form   url.Values
		header []string
		want   int
	}{
		{"new session, huge form", "/s/new", url.Values{"csrf": {good}, "pad": {big}}, nil, http.StatusRequestEntityTooLarge},
		{"admin form, huge message", "/admin/sessions/same/message", url.Values{"csrf": {good}, "text": {big}}, nil, http.StatusRequestEntityTooLarge},
		{"api, huge message", "/api/sessions/same/message", url.Values{"text": {big}}, []string{"X-CSRF-Token", good}, http.StatusRequestEntityTooLarge},
		{"api, a name two users share", "/api/sessions/same/message", url.Values{"text": {"hi"}}, []string{"X-CSRF-Token", good}, http.StatusConflict},
	}
	tests = append(tests, struct {
		name   string
		path   string
		form   url.Values
		header []string
		want   int
	}{"sign-in, huge password", "/login", url.Values{"csrf": {b.cookie("termhost_csrf")}, "user": {"root"}, "password": {big}}, nil, http.StatusRequestEntityTooLarge})
	for _, tt := range tests {
		if resp, body := b.post(tt.path, tt.form, tt.header...); resp.StatusCode != tt.want {
			t.Errorf("%s: %d, want %d\n%.300s", tt.name, resp.StatusCode, tt.want, body)
		}
	}
	if list, _ := e.mgr.List(context.Background(), "root", ""); len(list) != 1 {
		t.Errorf("root has %d sessions after a refused New session, want 1", len(list))
	}
}

// TestCrossSiteOpenAsks: a page of another site that sends a signed-in
// browser to /s/NAME (a link, a redirect, a meta refresh: the Lax cookie
// rides along) gets a page with a link, not the terminal, whose script
// would take the session over from the user's other clients at once
// (newcomer trial). Its own pages and typed addresses open the terminal.
func TestCrossSiteOpenAsks(t *testing.T) {
	e := newEnv(t)
	e.addUser("bob", persist.RoleUser, "pw-bob")
	b := e.browser()
	b.mustSignIn("bob", "pw-bob")
	sess, err := e.mgr.Create(context.Background(), sessions.User{Name: "bob"}, "dur")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		site, path string
		terminal   bool
		link       string
	}{
		{"", "/s/dur", true, ""},
		{"none", "/s/dur", true, ""},
		{"same-origin", "/s/dur", true, ""},
		{"cross-site", "/s/dur", false, `href="/s/` + sess.ID() + `"`},
		{"same-site", "/s/dur", false, `href="/s/` + sess.ID() + `"`},
		{"cross-site", "/s/dur?shared=1", false, `href="/s/` + sess.ID() + `?shared=1"`},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", e.ts.URL+tt.path, nil)
		if tt.site != "" {
			req.Header.Set("Sec-Fetch-Site", tt.site)
		}
		resp, body := b.do(req)
		if resp.StatusCode != http.StatusOK || strings.Contains(body, "term.js") != tt.terminal || !strings.Contains(body, tt.link) {
			t.Errorf("GET %s with Sec-Fetch-Site %q: %d, terminal %v; want terminal %v and %q\n%.400s", tt.path, tt.site,
				resp.StatusCode, strings.Contains(body, "term.js"), tt.terminal, tt.link, body)
		}
	}
}

// TestAdminResultNotFromTheURL: an admin action's result shows once on the
// next /admin page, carried by a cookie the POST set; /admin?done=TEXT (a
// link anyone can send an admin) shows nothing.
func TestAdminResultNotFromTheURL(t *testing.T) {
	e := newEnv(t)
	e.addUser("root", persist.RoleAdmin, "pw-root")
	b := e.browser()
	b.mustSignIn("root", "pw-root")
	sess, err := e.mgr.Create(context.Background(), sessions.User{Name: "root", Admin: true}, "victim")
	if err != nil {
		t.Fatal(err)
	}
	if _, body := b.get("/admin?done=call+0800-SCAM"); strings.Contains(body, "SCAM") {
		t.Fatalf("/admin shows text from its URL:\n%s", body)
	}
	resp, _ := b.post("/admin/sessions/"+sess.ID()+"/kill", url.Values{"csrf": {b.csrf("/")}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin" {
		t.Fatalf("kill: %d to %q, want 303 to /admin", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := b.get("/admin"); !strings.Contains(body, `class="flash"`) || !strings.Contains(body, "killed") {
		t.Fatalf("/admin after the kill shows no result:\n%s", body)
	}
	if _, body := b.get("/admin"); strings.Contains(body, `class="flash"`) {
		t.Fatalf("/admin shows the result a second time:\n%s", body)
	}
	// A cookie set by anyone else (a page on another port of this host
	// can set one for it) carries no MAC of this login: nothing shows.
	u, _ := url.Parse(e.ts.URL + "/admin")
	for _, v := range []string{"INJECTED", "INJECTED.0123abcd", url.QueryEscape("killed by root") + "." + strings.Repeat("0", 64)} {
		b.jar.SetCookies(u, []*http.Cookie{{Name: "termhost_flash", Value: v, Path: "/admin"}})
		if _, body := b.get("/admin"); strings.Contains(body, `class="flash"`) {
			t.Fatalf("/admin shows a flash cookie it did not set (%q):\n%s", v, body)
		}
	}
}

// TestUserEndsOwnSession: the sessions page's End asks first (a GET ends
// nothing), and its POST — CSRF token and Origin checked — runs the user's
// own kill verb, as `ssh host kill NAME` does; another user's session is
// not theirs to end (newcomer trial: no way to end a session from the web).
func TestUserEndsOwnSession(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice", persist.RoleUser, "pw-alice")
	e.addUser("bob", persist.RoleUser, "pw-bob")
	alice, bob := e.browser(), e.browser()
	alice.mustSignIn("alice", "pw-alice")
	bob.mustSignIn("bob", "pw-bob")
	sess, err := e.mgr.Create(context.Background(), sessions.User{Name: "alice"}, "work")
	if err != nil {
		t.Fatal(err)
	}
	live := func() bool {
		t.Helper()
		list, err := e.mgr.List(context.Background(), "alice", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range list {
			if in.ID == sess.ID() && in.State != persist.StateEnded {
				return true
			}
		}
		return false
	}
	end := "/s/" + sess.ID() + "/end"
	if _, body := alice.get("/"); !strings.Contains(body, `href="`+end+`"`) {
		t.Fatalf("the sessions page has no End link for work:\n%s", body)
	}
	resp, body := alice.get(end)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `action="`+end+`"`) || !live() {
		t.Fatalf("GET %s: %d, live %v; want 200, the End button, the session still live\n%s", end, resp.StatusCode, live(), body)
	}
	if resp, _ := alice.post(end, url.Values{}); resp.StatusCode != http.StatusForbidden || !live() {
		t.Fatalf("POST %s without a CSRF token: %d, live %v; want 403 and live", end, resp.StatusCode, live())
	}
	if resp, _ := bob.post(end, url.Values{"csrf": {bob.csrf("/")}}); resp.StatusCode != http.StatusNotFound || !live() {
		t.Fatalf("bob's POST %s: %d, live %v; want 404 and alice's session live", end, resp.StatusCode, live())
	}
	resp, _ = alice.post(end, url.Values{"csrf": {alice.csrf("/")}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || live() {
		t.Fatalf("POST %s: %d to %q, live %v; want 303 to / and the session ended", end, resp.StatusCode, resp.Header.Get("Location"), live())
	}
}
