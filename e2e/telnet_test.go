package e2e

import (
	"crypto/rand"
	"net"
	"strings"
	"testing"
	"time"
)

func startTelnetServer(t *testing.T) *server {
	t.Helper()
	s := startServer(t, "", "--telnet-addr", "127.0.0.1:0")
	if s.telAddr == "" {
		t.Fatalf("no telnet listener:\n%s", s.out.String())
	}
	if !strings.Contains(s.out.String(), "plaintext") {
		t.Errorf("startup does not warn that telnet is plaintext:\n%s", s.out.String())
	}
	return s
}

// telnetTerm opens the Debian telnet client in tmux.
func telnetTerm(t *testing.T, s *server, w, h int) *term {
	t.Helper()
	need(t, "telnet")
	tm := newTerm(t, w, h, "telnet 127.0.0.1 "+s.telnetPort())
	tm.waitFor("login:")
	return tm
}

func addUser(t *testing.T, s *server, name, password, key string) {
	t.Helper()
	if out, err := s.run(password+"\n", "user", "add", name, "--password-stdin", "--key", key+".pub"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
}

func telnetLogin(t *testing.T, tm *term, user, password string) {
	t.Helper()
	tm.typeText(user)
	tm.send("Enter")
	tm.waitFor("Password:")
	tm.typeText(password)
	tm.send("Enter")
	tm.waitFor(" " + user + " · ")
	if strings.Contains(tm.screen(), password) {
		t.Fatalf("the password is on screen:\n%s", tm.screen())
	}
}

// Done-when 3 and 4: log in over telnet, type, resize, quit; ssh reattaches
// that session; then the reverse with the takeover message.
func TestTelnetLoginResizeAndSSHReattach(t *testing.T) {
	s := startTelnetServer(t)
	key := keyFile(t)
	addUser(t, s, "tess", "pa55word", key)
	tm := telnetTerm(t, s, 100, 30)
	tm.typeText("tess")
	tm.send("Enter")
	tm.waitFor("Password:")
	tm.typeText("pa55word")
	if strings.Contains(tm.screen(), "pa55word") {
		t.Fatalf("password echoed while typing:\n%s", tm.screen())
	}
	tm.send("Enter")
	tm.waitFor(" tess · ")
	long := "telnet text " + strings.Repeat("w", 70)
	tm.typeText(long)
	tm.waitFor(strings.Repeat("w", 70))
	list := listSessions(t, s)
	if len(list) != 1 || len(list[0].Clients) != 1 || list[0].Clients[0].Transport != "telnet" || list[0].Clients[0].Width != 100 || list[0].Clients[0].Height != 30 {
		t.Fatalf("want one telnet client at 100x30: %+v", list)
	}
	tm.resize(60, 20)
	// The 82-character line now wraps at 60 columns (wait for the whole
	// frame: a capture may land between two rows' updates).
	tm.waitUntil("the line wrapped at 60 columns", func(sc string) bool {
		return strings.Contains(sc, "telnet text "+strings.Repeat("w", 48)+"\n"+strings.Repeat("w", 22)+"\n")
	})
	if l := listSessions(t, s); l[0].Clients[0].Width != 60 {
		t.Errorf("server did not see the resize: %+v", l[0].Clients)
	}
	tm.send("C-]")
	tm.waitFor("telnet>")
	tm.typeText("quit")
	tm.send("Enter")
	tm.waitFor("[exited]")

	ssh := attach(t, s, key, "tess")
	ssh.waitFor("telnet text")
	ssh.typeText(" and ssh")

	// Reverse: telnet takes the session over from ssh.
	tm2 := telnetTerm(t, s, 100, 30)
	telnetLogin(t, tm2, "tess", "pa55word")
	tm2.waitFor("and ssh")
	out := ssh.waitFor("[exited]")
	if !strings.Contains(out, "detached: session attached from 127.0.0.1:") || !strings.Contains(out, "via telnet") {
		t.Fatalf("ssh client not told about the telnet takeover:\n%s", out)
	}
}

// Done-when 4: a wrong password gets a clear message and a growing delay;
// a silent client still gets login:.
func TestTelnetWrongPasswordAndSilentClient(t *testing.T) {
	s := startTelnetServer(t)
	addUser(t, s, "wendy", "right-password", keyFile(t))

	// A silent raw TCP client (no option negotiation at all).
	c, err := net.Dial("tcp", s.telAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got []byte
	buf := make([]byte, 512)
	for !strings.Contains(string(got), "login:") {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("silent client got no login prompt: %v (%q)", err, got)
		}
		got = append(got, buf[:n]...)
	}

	tm := telnetTerm(t, s, 100, 30)
	var delays []time.Duration
	for range 3 {
		tm.typeText("wendy")
		tm.send("Enter")
		tm.waitFor("Password:")
		tm.typeText("wrong")
		start := time.Now()
		tm.send("Enter")
		tm.waitUntil("a failure", func(sc string) bool { return strings.Count(sc, "Login incorrect") > len(delays) })
		delays = append(delays, time.Since(start))
	}
	// The per-source delay doubles from 250 ms: the second and third answers
	// wait at least that long. Floors, not comparisons between attempts:
	// argon2's own time varies by hundreds of ms on a loaded machine.
	if delays[1] < 250*time.Millisecond || delays[2] < 500*time.Millisecond {
		t.Errorf("failure delays do not grow: %v", delays)
	}
	if strings.Contains(tm.screen(), "wrong") {
		t.Errorf("a password is on screen:\n%s", tm.screen())
	}
}

// Done-when 5: 10 MB of random bytes on one telnet connection neither
// crashes the server nor disturbs another user's attached session.
func TestTelnetGarbageDoesNotDisturbOthers(t *testing.T) {
	s := startTelnetServer(t)
	key := keyFile(t)
	other := attach(t, s, key, "steady")
	other.typeText("before")
	other.waitFor("before")

	addUser(t, s, "noisy", "noisy-password", keyFile(t))
	for _, login := range []string{"", "noisy\r\nnoisy-password\r\n"} {
		sent := sendGarbage(t, s.telAddr, login, 10<<20)
		t.Logf("login %q: %d bytes of garbage sent before the server hung up", login, sent)
	}
	other.typeText(" after")
	other.waitFor("before after")
	list := listSessions(t, s, "--user", "steady")
	if len(list) != 1 || list[0].State != "attached" || len(list[0].Clients) != 1 {
		t.Fatalf("the other user's session was disturbed: %+v", list)
	}
	if strings.Contains(s.errOut.String(), "panic") {
		t.Fatalf("server panicked:\n%s", s.errOut.String())
	}
}

// sendGarbage writes up to total random bytes after an optional login and
// returns how many the server took before hanging up.
func sendGarbage(t *testing.T, addr, login string, total int) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() { // drain whatever the server answers
		buf := make([]byte, 64<<10)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	if login != "" {
		c.Write([]byte(login))
		time.Sleep(3 * time.Second) // past negotiation and login
	}
	junk := make([]byte, 1<<20)
	sent := 0
	c.SetWriteDeadline(time.Now().Add(60 * time.Second))
	for sent < total {
		rand.Read(junk)
		n, err := c.Write(junk)
		sent += n
		if err != nil {
			break // hanging up on garbage is allowed
		}
	}
	return sent
}
