package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"termhost/internal/testterm"
)

// unusedPort returns a loopback port nobody listens on right now.
func unusedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// localHAProxyConfig is deploy/haproxy.cfg pointed at one local node: the
// same backends, checks and PROXY v2, with loopback ports, no syslog, and
// checks every 100 ms so that the test is quick.
func localHAProxyConfig(t *testing.T, sshFront, webFront, statsPort int, node, web, metrics string) string {
	t.Helper()
	data, err := os.ReadFile("../deploy/haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(data)
	_, metricsPort, _ := net.SplitHostPort(metrics)
	for _, r := range []struct{ re, with string }{
		{`(?m)^\s*log /dev/log.*$`, ""},
		{`(?m)^\s*stats socket .*$`, ""},
		{`(?m)^(\s*)bind :22$`, fmt.Sprintf("${1}bind 127.0.0.1:%d", sshFront)},
		{`(?m)^\s*bind :23$`, fmt.Sprintf("    bind 127.0.0.1:%d", unusedPort(t))},
		{`(?m)^(\s*)bind 127\.0\.0\.1:8404$`, fmt.Sprintf("${1}bind 127.0.0.1:%d", statsPort)},
		{`inter 2s`, "inter 100ms"},
		{`(?m)^(\s*)maxconn \d+$`, "${1}maxconn 200"}, // within a test's file limit
		{`(?m)^(\s*)server node1 [0-9.]+:2222$`, "${1}server node1 " + node + " check port " + metricsPort},
		{`(?m)^\s*server node2 [0-9.]+:2222$`, ""},
		{`(?m)^(\s*)server node1 [0-9.]+:2323$`, "${1}server node1 127.0.0.1:1 check port " + metricsPort},
		{`(?m)^\s*server node2 [0-9.]+:2323$`, ""},
		{`(?m)^(\s*)bind :443$`, fmt.Sprintf("${1}bind 127.0.0.1:%d", webFront)},
		{`(?m)^(\s*)server node1 [0-9.]+:8080$`, "${1}server node1 " + web + " check port " + metricsPort},
		{`(?m)^\s*server node2 [0-9.]+:8080$`, ""},
	} {
		cfg = regexp.MustCompile(r.re).ReplaceAllString(cfg, r.with)
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serverStatus reads node1's status ("UP", "DOWN", …) in the backend from
// HAProxy's CSV stats page.
func serverStatus(statsURL, backend string) string {
	resp, err := http.Get(statsURL + ";csv")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || len(rows) == 0 {
		return ""
	}
	status := -1
	for i, h := range rows[0] {
		if h == "status" {
			status = i
		}
	}
	for _, r := range rows[1:] {
		if status >= 0 && len(r) > status && r[0] == backend && r[1] == "node1" {
			return r[status]
		}
	}
	return ""
}

func waitStatus(t *testing.T, statsURL, want string, log fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := serverStatus(statsURL, "termhost_ssh")
		if strings.HasPrefix(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("HAProxy says node1 is %q, want %s\n%s", got, want, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// deploy/haproxy.cfg in use: HAProxy in front of a real node sends PROXY v2
// (the node sees the client's own address and port, not HAProxy's), checks
// /readyz (the node is UP), and takes the node DOWN when it drains.
func TestHAProxyInFront(t *testing.T) {
	need(t, "haproxy")
	t.Setenv("TERMHOST_PROXY_PROTOCOL", "on")
	t.Setenv("TERMHOST_PROXY_TRUSTED", "127.0.0.1")
	s := startServer(t, "", "--metrics-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0")
	ops := s.opsURL(t)
	front, webFront, statsPort := unusedPort(t), unusedPort(t), unusedPort(t)
	cfg := localHAProxyConfig(t, front, webFront, statsPort, s.sshAddr, s.httpAddr, strings.TrimPrefix(ops, "http://"))
	hap := exec.Command("haproxy", "-db", "-f", cfg)
	hapOut := &testterm.Buffer{}
	hap.Stdout, hap.Stderr = hapOut, hapOut
	if err := hap.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		hap.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { hap.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			hap.Process.Kill()
			<-done
		}
	})
	statsURL := fmt.Sprintf("http://127.0.0.1:%d/", statsPort)
	waitStatus(t, statsURL, "UP", hapOut)

	c, err := gossh.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", front), &gossh.ClientConfig{User: "alice",
		Auth: []gossh.AuthMethod{gossh.Password("correct horse")}, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("ssh through HAProxy: %v\n%s", err, hapOut.String())
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	scr := testterm.New(80, 24)
	defer scr.Close()
	sess.Stdout = scr
	if _, err := sess.StdinPipe(); err != nil { // open: a closed stdin is EOF, and EOF detaches
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	scr.WaitFor(t, " alice · 1", 10*time.Second)

	out, err := s.run("", "sessions", "list", "--json")
	if err != nil {
		t.Fatalf("sessions list: %v\n%s", err, out)
	}
	var list []struct {
		Clients []struct {
			Remote string `json:"remote_addr"`
		} `json:"clients"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || len(list[0].Clients) != 1 {
		t.Fatalf("sessions list --json: %v\n%s\nserver log:\n%s\nhaproxy:\n%s", err, out, s.errOut.String(), hapOut.String())
	}
	if got, want := list[0].Clients[0].Remote, c.LocalAddr().String(); got != want {
		t.Errorf("the node sees the client as %s, want %s (the client's own address, from the PROXY v2 header)", got, want)
	}

	// The web too: a sign-in through HAProxy is recorded under the
	// browser's own address (PROXY v2 before HTTP), so per-source caps
	// count browsers, not the balancer (attack trial: two accounts filled
	// the per-source terminal cap for every user behind it).
	if out, err := s.run("pw-webby\n", "user", "add", "webby", "--password-stdin"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	var local string
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			local = c.LocalAddr().String()
		}
		return c, err
	}}
	defer tr.CloseIdleConnections()
	webSignIn(t, &http.Client{Transport: tr, Timeout: 10 * time.Second}, fmt.Sprintf("http://127.0.0.1:%d", webFront), "webby", "pw-webby")
	out, err = s.run("", "logins", "list", "--json")
	var logins []struct {
		Remote string `json:"remote_addr"`
	}
	if err != nil || json.Unmarshal([]byte(out), &logins) != nil || len(logins) != 1 {
		t.Fatalf("logins list --json: %v\n%s", err, out)
	}
	if logins[0].Remote != local { // with its port: HAProxy's address is 127.0.0.1 too
		t.Errorf("the web login is recorded from %s, want the browser's %s (from the PROXY v2 header)", logins[0].Remote, local)
	}

	// A drain: /readyz says 503, HAProxy takes the node out.
	s.cmd.Process.Signal(syscall.SIGTERM)
	waitStatus(t, statsURL, "DOWN", hapOut)
}
