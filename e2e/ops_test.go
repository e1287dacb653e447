package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"termhost/internal/testterm"
)

var metricsLine = regexp.MustCompile(`metrics listening on (\S+)`)

// opsURL is the base URL of the server's /metrics, /healthz, /readyz.
func (s *server) opsURL(t *testing.T) string {
	t.Helper()
	var text strings.Builder // JSON startup records read as their text lines
	for _, l := range strings.Split(s.out.String(), "\n") {
		text.WriteString(startupText(l) + "\n")
	}
	m := metricsLine.FindStringSubmatch(text.String())
	if m == nil {
		t.Fatalf("no metrics address printed:\n%s", s.out.String())
	}
	return "http://" + m[1]
}

// goSSH logs in with a password through x/crypto/ssh and opens a pty shell
// whose output feeds a screen.
func goSSH(t *testing.T, addr, user, password string) (*gossh.Session, io.WriteCloser, *testterm.Screen, error) {
	t.Helper()
	c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: user, Auth: []gossh.AuthMethod{gossh.Password(password)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		return nil, nil, nil, err
	}
	t.Cleanup(func() { c.Close() })
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
		t.Fatal(err)
	}
	scr := testterm.New(80, 24)
	t.Cleanup(func() { scr.Close() })
	in, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	sess.Stdout, sess.Stderr = scr, io.Discard
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	return sess, in, scr, nil
}

func httpStatus(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// With log_format json, every line the server logs is one JSON object with
// time, level and msg, and lines about a connection carry its transport
// and remote address, plus user and session once known (SPEC §11).
func TestJSONLogsParseLineByLine(t *testing.T) {
	s := startServer(t, "", "--log-format", "json", "--metrics-addr", "127.0.0.1:0")
	if _, _, _, err := goSSH(t, s.sshAddr, "alice", "correct horse"); err != nil { // signup
		t.Fatalf("signup: %v", err)
	}
	if _, _, _, err := goSSH(t, s.sshAddr, "alice", "wrong"); err == nil {
		t.Fatal("a wrong password logged in")
	}
	sess, in, scr, err := goSSH(t, s.sshAddr, "alice", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, " alice · 1", 10*time.Second)
	io.WriteString(in, "\x02d")
	sess.Wait()
	s.stop()

	lines := 0
	seen := map[string]map[string]any{}
	// Standard output (startup: listeners, host keys, ready) and standard
	// error (the log) are both JSON, line by line.
	sc := bufio.NewScanner(strings.NewReader(s.out.String() + s.errOut.String()))
	for sc.Scan() {
		lines++
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Errorf("log line %d is not JSON: %v\n%s", lines, err, sc.Text())
			continue
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("log line %d has no %q: %s", lines, k, sc.Text())
			}
		}
		msg, _ := rec["msg"].(string)
		if _, dup := seen[msg]; !dup {
			seen[msg] = rec
		}
	}
	tests := []struct {
		msg  string
		keys []string
	}{
		{msg: "login failed", keys: []string{"transport", "remote", "user"}},
		{msg: "attached", keys: []string{"transport", "remote", "user", "session"}},
		{msg: "connection ended", keys: []string{"transport", "remote", "user", "session"}},
		{msg: "shutting down"},
		{msg: "listening", keys: []string{"listener", "addr"}},
		{msg: "host key", keys: []string{"type", "fingerprint"}},
		{msg: "ready"},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			rec, ok := seen[tt.msg]
			if !ok {
				t.Fatalf("no %q line in the log:\n%s", tt.msg, s.errOut.String())
			}
			for _, k := range tt.keys {
				if v, _ := rec[k].(string); v == "" {
					t.Errorf("%q line lacks %q: %v", tt.msg, k, rec)
				}
			}
			if _, ok := rec["transport"]; ok && rec["transport"] != "ssh" {
				t.Errorf("%q line: transport = %v, want ssh", tt.msg, rec["transport"])
			}
		})
	}
}

// SIGTERM turns /readyz to 503 while the SSH listener still accepts, so a
// load balancer stops sending new users before the node closes its doors;
// /healthz stays 200 until the process is gone.
func TestDrainFlipsReadyzBeforeListenersClose(t *testing.T) {
	s := startServer(t, "", "--metrics-addr", "127.0.0.1:0")
	ops := s.opsURL(t)
	if code := httpStatus(ops + "/readyz"); code != 200 {
		t.Fatalf("/readyz before the drain = %d, want 200", code)
	}
	// An attached user makes the drain flush a session first.
	_, _, scr, err := goSSH(t, s.sshAddr, "alice", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, " alice · 1", 10*time.Second)

	s.cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code := httpStatus(ops + "/readyz")
		if code == 503 {
			break
		}
		if code == 0 || time.Now().After(deadline) {
			t.Fatalf("/readyz never answered 503 during the drain (last %d)", code)
		}
		time.Sleep(2 * time.Millisecond)
	}
	conn, err := net.DialTimeout("tcp", s.sshAddr, time.Second)
	if err != nil {
		t.Fatalf("the SSH listener closed before /readyz said 503: %v", err)
	}
	conn.Close()
	if code := httpStatus(ops + "/healthz"); code != 200 {
		t.Errorf("/healthz while draining = %d, want 200", code)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	scr.WaitFor(t, "server restarting", 10*time.Second)
}

// With drain_delay, SIGTERM turns /readyz to 503 for that long while the
// SSH listener still serves (a new client still gets the SSH banner), so a
// load balancer checking every few seconds sees the node go down before it
// sees "connection refused"; then the node stops.
func TestDrainDelayKeepsServingWhileNotReady(t *testing.T) {
	const delay = time.Second
	s := startServer(t, "", "--metrics-addr", "127.0.0.1:0", "--drain-delay", delay.String())
	ops := s.opsURL(t)
	if code := httpStatus(ops + "/readyz"); code != 200 {
		t.Fatalf("/readyz before the drain = %d, want 200", code)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for code := httpStatus(ops + "/readyz"); code != 503; code = httpStatus(ops + "/readyz") {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never answered 503 after SIGTERM (last %d)", code)
		}
		time.Sleep(2 * time.Millisecond)
	}
	notReady := time.Now()
	// Until the SSH port stops answering, every probe finds it serving and
	// /readyz still 503.
	var lastServed time.Time
	for time.Now().Before(deadline) {
		if !sshBanner(s.sshAddr) {
			break
		}
		lastServed = time.Now()
		if code := httpStatus(ops + "/readyz"); code != 503 && code != 0 {
			t.Fatalf("/readyz = %d while draining, want 503", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if served := lastServed.Sub(notReady); served < delay*9/10 {
		t.Errorf("the SSH listener served for %v after /readyz said 503, want ≈ drain_delay (%v)", served, delay)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit after the drain delay")
	}
}

// sshBanner reports whether addr accepts a TCP connection and sends an SSH
// version line within a second.
func sshBanner(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}
