package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// attach opens an OpenSSH client in a new terminal and waits for the workspace.
func attach(t *testing.T, s *server, key, user string, extra ...string) *term {
	t.Helper()
	need(t, "ssh")
	tm := newTerm(t, 100, 30, s.sshCmd(key, user, extra...))
	tm.waitFor(" " + user + " · ")
	return tm
}

type jsonSession struct {
	ID          string `json:"id"`
	User        string `json:"user"`
	Name        string `json:"name"`
	State       string `json:"state"`
	Node        string `json:"node"`
	CreatedAt   string `json:"created_at"`
	LastInputAt string `json:"last_input_at"`
	IdleSeconds *int64 `json:"idle_seconds"`
	Clients     []struct {
		Transport  string `json:"transport"`
		RemoteAddr string `json:"remote_addr"`
		Term       string `json:"term"`
		Width      int    `json:"width"`
		Height     int    `json:"height"`
		Since      string `json:"since"`
	} `json:"clients"`
	Apps []struct {
		App       string   `json:"app"`
		Documents []string `json:"documents"`
	} `json:"apps"`
}

func listSessions(t *testing.T, s *server, args ...string) []jsonSession {
	t.Helper()
	out, err := s.run("", append([]string{"sessions", "list", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("sessions list: %v\n%s", err, out)
	}
	var list []jsonSession
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("sessions list --json is not JSON: %v\n%s", err, out)
	}
	return list
}

// Done-when 1 and 2: signup with one's key reaches a workspace; text typed
// survives detach and reattach with the cursor where it was.
func TestSSHSignupDetachReattach(t *testing.T) {
	s := startServer(t, "")
	if !strings.Contains(s.out.String(), "the first account created from a loopback address becomes admin") {
		t.Errorf("startup does not say who becomes admin:\n%s", s.out.String())
	}
	key := keyFile(t)
	tm := attach(t, s, key, "alice")
	if !strings.Contains(tm.screen(), "untitled") {
		t.Fatalf("a new session should open Notes on an untitled document:\n%s", tm.screen())
	}
	tm.typeText("hello world")
	tm.send("Enter")
	tm.typeText("second line")
	tm.waitFor("second line")
	var x, y int
	if _, err := fmt.Sscanf(tm.cursor(), "%d,%d", &x, &y); err != nil {
		t.Fatalf("cursor: %v", err)
	}
	tm.send("Left", "Left")
	before := fmt.Sprintf("%d,%d", x-2, y)
	tm.waitCursor(before)
	tm.send("C-b", "d")
	out := tm.waitFor("[exited]")
	if !strings.Contains(out, "detached from session") {
		t.Fatalf("client did not say it detached:\n%s", out)
	}
	list := listSessions(t, s)
	if len(list) != 1 || list[0].State != "detached" || list[0].User != "alice" {
		t.Fatalf("after detach want one detached session of alice, got %+v", list)
	}

	tm2 := attach(t, s, key, "alice")
	screen := tm2.waitFor("second line")
	if !strings.Contains(screen, "hello world") {
		t.Fatalf("reattach lost text:\n%s", screen)
	}
	tm2.waitCursor(before)
	users, err := s.run("", "user", "list", "--json")
	if err != nil || !strings.Contains(users, `"role": "admin"`) {
		t.Errorf("first loopback signup should be admin: %v\n%s", err, users)
	}
}

// Done-when 3: a second ssh takes over; attach --shared shows one workspace
// driven from both.
func TestSSHTakeoverAndShared(t *testing.T) {
	s := startServer(t, "")
	key := keyFile(t)
	first := attach(t, s, key, "bob")
	first.typeText("one")
	first.waitFor("one")

	second := attach(t, s, key, "bob")
	second.waitFor("one")
	out := first.waitFor("[exited]")
	if !strings.Contains(out, "detached: session attached from 127.0.0.1:") || !strings.Contains(out, "via ssh") {
		t.Fatalf("taken-over client was not told why:\n%s", out)
	}

	third := newTerm(t, 100, 30, s.sshCmd(key, "bob", "-t")+" attach --shared")
	third.waitFor("one")
	third.typeText("X")
	second.waitFor("oneX")
	second.typeText("Y")
	third.waitFor("oneXY")
	list := listSessions(t, s)
	if len(list) != 1 || len(list[0].Clients) != 2 {
		t.Fatalf("want one session with two clients, got %+v", list)
	}
}

// Done-when 4: idle warning then detach; detached TTL ends the session; the
// next new session starts from the last workspace.
func TestSSHIdleAndExpiry(t *testing.T) {
	s := startServer(t, "", "--idle-timeout", "3s", "--detached-ttl", "5s")
	key := keyFile(t)
	tm := attach(t, s, key, "carol")
	tm.typeText("remember me")
	tm.waitFor("remember me")
	t.Logf("typed at %s", time.Now())
	if screen := tm.waitFor("idle: detaching in"); !strings.Contains(screen, "remember me") {
		t.Fatalf("warning screen lost the text:\n%s\n%s", screen, s.errOut.String())
	}
	out := tm.waitFor("[exited]")
	if !strings.Contains(out, "detached: idle") {
		t.Fatalf("idle detach not explained:\n%s", out)
	}
	list := listSessions(t, s)
	if len(list) != 1 || list[0].State != "detached" {
		t.Fatalf("after idle detach the session must still be listed as detached: %+v", list)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(listSessions(t, s)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("session did not expire: %+v", listSessions(t, s))
		}
		time.Sleep(250 * time.Millisecond)
	}
	ended := listSessions(t, s, "--state", "ended")
	if len(ended) != 1 {
		t.Fatalf("want the expired session listed as ended, got %+v", ended)
	}
	show, err := s.run("", "sessions", "show", ended[0].ID, "--json")
	if err != nil || !strings.Contains(show, `"expired"`) {
		t.Errorf("history should record the expiry: %v\n%s", err, show)
	}
	again := attach(t, s, key, "carol")
	again.waitFor("remember me")
}

// Done-when 5: unsaved text survives kill -9 after 300 ms, and SIGTERM.
func TestSSHCrashAndRestart(t *testing.T) {
	for _, mode := range []string{"kill-9", "sigterm"} {
		t.Run(mode, func(t *testing.T) {
			s := startServer(t, "")
			key := keyFile(t)
			tm := attach(t, s, key, "dave")
			tm.typeText("unsaved " + mode)
			tm.waitFor("unsaved " + mode)
			time.Sleep(300 * time.Millisecond)
			if mode == "kill-9" {
				s.kill9()
			} else {
				s.stop()
				out := tm.waitFor("[exited]")
				if !strings.Contains(out, "server restarting") {
					t.Errorf("client not told why on SIGTERM:\n%s", out)
				}
			}
			s.restart()
			again := attach(t, s, key, "dave")
			again.waitFor("unsaved " + mode)
		})
	}
}

// Done-when 6: the JSON listing, admin detach/kill with reasons, and what a
// non-admin may not do.
func TestSSHAdminAndIsolation(t *testing.T) {
	s := startServer(t, "")
	adminKey, userKey := keyFile(t), keyFile(t)
	adm := attach(t, s, adminKey, "root1")
	adm.typeText("x")
	usr := attach(t, s, userKey, "mallory")
	usr.typeText("secret")
	usr.waitFor("secret")

	out, err := s.sshExec(adminKey, "root1", "sessions", "list", "--json")
	if err != nil {
		t.Fatalf("admin over ssh: %v\n%s", err, out)
	}
	var list []jsonSession
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(list) != 2 {
		t.Fatalf("admin should see both sessions: %s", out)
	}
	var target jsonSession
	for _, x := range list {
		if x.User == "mallory" {
			target = x
		}
		if x.ID == "" || x.Name == "" || x.Node == "" || x.IdleSeconds == nil || x.State != "attached" || len(x.Clients) != 1 {
			t.Errorf("incomplete listing: %+v", x)
		}
		if _, err := time.Parse(time.RFC3339, x.CreatedAt); err != nil {
			t.Errorf("created_at not RFC 3339: %q", x.CreatedAt)
		}
		if c := x.Clients[0]; c.Transport != "ssh" || c.Width != 100 || c.Height != 30 || c.Term != "xterm-256color" || !strings.HasPrefix(c.RemoteAddr, "127.0.0.1:") {
			t.Errorf("client detail wrong: %+v", c)
		}
		if len(x.Apps) != 1 || x.Apps[0].App != "notes" {
			t.Errorf("apps wrong: %+v", x.Apps)
		}
	}

	// mallory is no admin: no admin verbs, no view of root1's sessions.
	if out, err := s.sshExec(userKey, "mallory", "sessions", "list"); err == nil || !strings.Contains(out, "permission denied") {
		t.Errorf("non-admin ran an admin verb: %v\n%s", err, out)
	}
	out, _ = s.sshExec(userKey, "mallory", "ls", "--json")
	if strings.Contains(out, "root1") || !strings.Contains(out, "mallory") {
		t.Errorf("user listing should show only one's own sessions:\n%s", out)
	}
	var rootID string
	for _, x := range list {
		if x.User == "root1" {
			rootID = x.ID
		}
	}
	if out, err := s.sshExec(userKey, "mallory", "kill", rootID); err == nil || strings.Contains(out, "killed") {
		t.Errorf("non-admin killed another user's session: %s", out)
	}
	other := newTerm(t, 100, 30, s.sshCmd(userKey, "mallory", "-t")+" attach "+rootID)
	if screen := other.waitFor("[exited]"); !strings.Contains(screen, "no such session") {
		t.Errorf("attaching another user's session should fail with a clear error:\n%s", screen)
	}

	if out, err := s.run("", "sessions", "message", target.ID[:8], "hello", "from", "ops"); err != nil {
		t.Fatalf("message: %v\n%s", err, out)
	}
	usr.waitFor("message from operator: hello from ops")
	if out, err := s.run("", "sessions", "detach", target.ID[:8]); err != nil {
		t.Fatalf("detach: %v\n%s", err, out)
	}
	if screen := usr.waitFor("[exited]"); !strings.Contains(screen, "detached by operator") {
		t.Errorf("detached client not told why:\n%s", screen)
	}
	usr2 := attach(t, s, userKey, "mallory")
	usr2.waitFor("secret")
	if out, err := s.run("", "sessions", "kill", target.ID); err != nil {
		t.Fatalf("kill: %v\n%s", err, out)
	}
	if screen := usr2.waitFor("[exited]"); !strings.Contains(screen, "ended: killed by operator") {
		t.Errorf("killed client not told why:\n%s", screen)
	}
	show, _ := s.run("", "sessions", "show", target.ID, "--json")
	for _, want := range []string{`"created"`, `"attached"`, `"detached"`, `"message"`, `"ended"`} {
		if !strings.Contains(show, want) {
			t.Errorf("history lacks %s:\n%s", want, show)
		}
	}
}

// Done-when 7: stable host keys; wrong password and unknown key rejected.
func TestSSHHostKeysAndRejections(t *testing.T) {
	need(t, "ssh")
	s := startServer(t, "")
	fingerprints := func() string {
		var fp []string
		for _, l := range strings.Split(s.out.String(), "\n") {
			if strings.HasPrefix(l, "host key ") {
				fp = append(fp, l)
			}
		}
		return strings.Join(fp, "\n")
	}
	first := fingerprints()
	if strings.Count(first, "host key") != 2 {
		t.Fatalf("want ed25519 and rsa fingerprints at start:\n%s", s.out.String())
	}
	s.stop()
	s.restart()
	if again := fingerprints(); again != first {
		t.Fatalf("host keys changed across restart:\n%s\nthen\n%s", first, again)
	}

	if out, err := s.run("s3cret-long\n", "user", "add", "erin", "--password-stdin"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	known, stranger := keyFile(t), keyFile(t)
	if out, err := s.run("", "user", "key", "add", "erin", known+".pub"); err != nil {
		t.Fatalf("user key add: %v\n%s", err, out)
	}
	if out, err := s.sshExec(known, "erin", "ls"); err != nil {
		t.Fatalf("known key rejected: %v\n%s", err, out)
	}
	if out, err := s.sshExec(stranger, "erin", "ls"); err == nil {
		t.Fatalf("unknown key accepted:\n%s", out)
	}
	// A wrong password: ssh with password auth only, answering via SSH_ASKPASS.
	tm := newTerm(t, 100, 10, s.passwordSSH(t, "wrong", "erin", "ls"))
	if screen := tm.waitFor("[exited]"); !strings.Contains(screen, "Permission denied") {
		t.Errorf("wrong password not rejected:\n%s", screen)
	}
	tm2 := newTerm(t, 100, 10, s.passwordSSH(t, "s3cret-long", "erin", "ls"))
	if screen := tm2.waitFor("[exited]"); !strings.Contains(screen, "ID") {
		t.Errorf("right password rejected:\n%s", screen)
	}
}
