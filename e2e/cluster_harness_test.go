package e2e

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	gossh "golang.org/x/crypto/ssh"

	"termhost/internal/pgtest"
	"termhost/internal/testterm"
)

// The cluster harness (issue 10): one throwaway PostgreSQL (pgtest), N real
// `termhost serve` nodes on it (each its own data dir and fixed loopback
// ports, so a restarted node comes back where HAProxy looks for it), and
// HAProxy in front, its config derived from deploy/haproxy.cfg. Nodes run
// with proxy_protocol on and trust only 127.0.0.1, HAProxy's source; a
// client that dials a node directly from another loopback address
// (127.0.0.9) is an untrusted direct client and is served under its own
// address, which is how tests pick a node for a Go client.

// cluster is PostgreSQL + nodes + HAProxy.
type cluster struct {
	t     *testing.T
	dsn   string
	ttl   time.Duration
	nodes []*clusterNode
	hap   *haproxy
}

// clusterNode is one `termhost serve` of the cluster.
type clusterNode struct {
	*server
	id      string
	cfg     string // its YAML config (store, node_id, lease_ttl, proxy_*)
	ssh     string // fixed 127.0.0.1:PORT of its SSH listener
	metrics string // fixed 127.0.0.1:PORT of /metrics and /readyz
}

// startCluster starts PostgreSQL (a fresh database), n nodes named a, b, c…
// with lease_ttl ttl, and HAProxy in front of them, every node UP.
func startCluster(t *testing.T, n int, ttl time.Duration) *cluster {
	t.Helper()
	need(t, "haproxy")
	c := &cluster{t: t, dsn: pgtest.DSN(t), ttl: ttl}
	for i := range n {
		c.nodes = append(c.nodes, c.startNode(string(rune('a'+i))))
	}
	c.hap = startHAProxy(t, c.nodes)
	c.hap.waitUp(t, c.ids()...)
	return c
}

func (c *cluster) ids() []string {
	var ids []string
	for _, n := range c.nodes {
		ids = append(ids, n.id)
	}
	return ids
}

// node returns the node named id.
func (c *cluster) node(id string) *clusterNode {
	for _, n := range c.nodes {
		if n.id == id {
			return n
		}
	}
	c.t.Fatalf("no node %q", id)
	return nil
}

func (c *cluster) startNode(id string) *clusterNode {
	t := c.t
	dir := t.TempDir()
	n := &clusterNode{id: id, cfg: filepath.Join(dir, "termhost.yaml"),
		ssh: fmt.Sprintf("127.0.0.1:%d", unusedPort(t)), metrics: fmt.Sprintf("127.0.0.1:%d", unusedPort(t))}
	// conn_rate off and a roomy unauthenticated cap: every client of the
	// test comes from loopback, and 30 reconnect at once in the rolling
	// restart. drain_delay covers HAProxy's fall 2 × inter 100 ms.
	cfg := fmt.Sprintf(`store: %q
node_id: %s
lease_ttl: %s
proxy_protocol: on
proxy_trusted: [127.0.0.1/32]
conn_rate: 0
max_unauthenticated: 256
max_unauthenticated_per_source: 128
max_sessions_per_user: 50
drain_delay: 400ms
`, c.dsn, id, c.ttl)
	if err := os.WriteFile(n.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	n.server = &server{t: t, dataDir: dir, args: []string{"--config", n.cfg, "--ssh-addr", n.ssh, "--metrics-addr", n.metrics},
		bin: nodeBinary(t)}
	n.server.start()
	t.Cleanup(func() {
		n.server.stop()
		n.server.checkRaces()
	})
	return n
}

// nodeBin is the binary cluster nodes run.
var nodeBin struct {
	once sync.Once
	path string
	err  error
}

// nodeBinary is the termhost the cluster's nodes run: the one TestMain
// built, except under -race, where it is a second build without the race
// detector. The cluster tests assert timings (≤ 200 ms of typing lost at a
// kill -9, failover within lease_ttl + 1 s, hand-offs inside a rolling
// restart): three race-instrumented nodes on two cores measure the race
// detector instead (their snapshot writes lagged 0.5–1 s behind typing in
// trials). The product's races are hunted in-process by
// sessions/cluster_test.go and the persist suites under -race.
// TERMHOST_CLUSTER_RACE=1 runs the nodes with -race anyway.
func nodeBinary(t *testing.T) string {
	t.Helper()
	if !raceEnabled || os.Getenv("TERMHOST_E2E_NORACE") != "" || os.Getenv("TERMHOST_CLUSTER_RACE") == "1" {
		return ""
	}
	nodeBin.once.Do(func() {
		nodeBin.path = filepath.Join(filepath.Dir(binary), "termhost-norace")
		out, err := exec.Command("go", "build", "-o", nodeBin.path, "..").CombinedOutput()
		if err != nil {
			nodeBin.err = fmt.Errorf("building termhost without -race: %v\n%s", err, out)
		}
	})
	if nodeBin.err != nil {
		t.Fatal(nodeBin.err)
	}
	return nodeBin.path
}

// cli runs a termhost subcommand with this node's data dir and config (so
// that it finds its admin socket and the cluster's store).
func (n *clusterNode) cli(args ...string) (string, error) {
	args = append(args, "--data-dir", n.dataDir, "--config", n.cfg)
	cmd := exec.Command(binary, args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// list is `sessions list --json` over this node's admin socket.
func (n *clusterNode) list(t *testing.T) []jsonSession {
	t.Helper()
	out, err := n.cli("sessions", "list", "--json")
	if err != nil {
		t.Fatalf("sessions list on node %s: %v\n%s", n.id, err, out)
	}
	var list []jsonSession
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("sessions list --json on node %s: %v\n%s", n.id, err, out)
	}
	return list
}

// waitList polls node n's listing until ok holds for it (at most 15 s).
func (n *clusterNode) waitList(t *testing.T, what string, ok func([]jsonSession) bool) []jsonSession {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		l := n.list(t)
		if ok(l) {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s: timed out waiting for %s; listing: %+v", n.id, what, l)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (n *clusterNode) signal(sig syscall.Signal) {
	if err := n.cmd.Process.Signal(sig); err != nil {
		n.t.Fatalf("signal %v to node %s: %v", sig, n.id, err)
	}
}

// waitExit waits (at most d) for the node's process to end.
func (n *clusterNode) waitExit(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-n.done:
	case <-time.After(d):
		t.Fatalf("node %s did not exit within %s:\n%s", n.id, d, n.errOut.String())
	}
}

// logs is every node's stderr, for failure messages.
func (c *cluster) logs() string {
	var b strings.Builder
	for _, n := range c.nodes {
		fmt.Fprintf(&b, "--- node %s ---\n%s\n", n.id, n.errOut.String())
	}
	return b.String()
}

// haproxy is one HAProxy process with its admin socket and stats page.
type haproxy struct {
	front string // 127.0.0.1:PORT users connect to
	stats string // http://127.0.0.1:PORT/
	sock  string // runtime API socket
	out   *testterm.Buffer
}

// clusterHAProxyConfig is deploy/haproxy.cfg pointed at the cluster's
// nodes: the same frontends, balance, checks and PROXY v2, with loopback
// ports, no syslog, a private admin socket and checks every 100 ms. Servers
// are named by node id.
func clusterHAProxyConfig(t *testing.T, dir string, front, statsPort int, nodes []*clusterNode) string {
	t.Helper()
	data, err := os.ReadFile("../deploy/haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(data)
	var ssh, other strings.Builder
	for i, n := range nodes {
		_, mport, _ := net.SplitHostPort(n.metrics)
		fmt.Fprintf(&ssh, "    server %s %s check port %s\n", n.id, n.ssh, mport)
		if i == 0 { // telnet and web are not under test: one placeholder each
			fmt.Fprintf(&other, "    server %s 127.0.0.1:1 check port %s\n", n.id, mport)
		}
	}
	for _, r := range []struct{ re, with string }{
		{`(?m)^\s*log /dev/log.*$`, ""},
		{`(?m)^(\s*)stats socket .*$`, "${1}stats socket " + filepath.Join(dir, "admin.sock") + " mode 600 level admin"},
		{`(?m)^(\s*)bind :22$`, fmt.Sprintf("${1}bind 127.0.0.1:%d", front)},
		{`(?m)^(\s*)bind :23$`, fmt.Sprintf("${1}bind 127.0.0.1:%d", unusedPort(t))},
		{`(?m)^(\s*)bind :443$`, fmt.Sprintf("${1}bind 127.0.0.1:%d", unusedPort(t))},
		{`(?m)^(\s*)bind 127\.0\.0\.1:8404$`, fmt.Sprintf("${1}bind 127.0.0.1:%d", statsPort)},
		{`inter 2s`, "inter 100ms"},
		{`(?m)^(\s*)maxconn \d+$`, "${1}maxconn 400"},
		{`(?m)^\s*server node1 [0-9.]+:2222\n\s*server node2 [0-9.]+:2222\n`, ssh.String()},
		{`(?m)^\s*server node1 [0-9.]+:(2323|8080)\n\s*server node2 [0-9.]+:(2323|8080)\n`, other.String()},
	} {
		re := regexp.MustCompile(r.re)
		if !re.MatchString(cfg) {
			t.Fatalf("deploy/haproxy.cfg changed: %s no longer matches", r.re)
		}
		cfg = re.ReplaceAllString(cfg, r.with)
	}
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func startHAProxy(t *testing.T, nodes []*clusterNode) *haproxy {
	t.Helper()
	dir := t.TempDir()
	front, statsPort := unusedPort(t), unusedPort(t)
	h := &haproxy{front: fmt.Sprintf("127.0.0.1:%d", front), stats: fmt.Sprintf("http://127.0.0.1:%d/", statsPort),
		sock: filepath.Join(dir, "admin.sock"), out: &testterm.Buffer{}}
	cmd := exec.Command("haproxy", "-db", "-f", clusterHAProxyConfig(t, dir, front, statsPort, nodes))
	cmd.Stdout, cmd.Stderr = h.out, h.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return h
}

// status reads each ssh server's status ("UP", "DOWN", "MAINT", …) from
// the CSV stats page.
func (h *haproxy) status() map[string]string {
	resp, err := http.Get(h.stats + ";csv")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || len(rows) == 0 {
		return nil
	}
	col := -1
	for i, name := range rows[0] {
		if name == "status" {
			col = i
		}
	}
	out := map[string]string{}
	for _, r := range rows[1:] {
		if col >= 0 && len(r) > col && r[0] == "termhost_ssh" && r[1] != "FRONTEND" && r[1] != "BACKEND" {
			out[r[1]] = r[col]
		}
	}
	return out
}

// waitUp waits until exactly the servers ids are UP in termhost_ssh.
func (h *haproxy) waitUp(t *testing.T, ids ...string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st := h.status()
		ok := len(st) > 0
		for name, s := range st {
			up := strings.HasPrefix(s, "UP")
			want := false
			for _, id := range ids {
				want = want || id == name
			}
			if up != want {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("HAProxy: want exactly %v UP, have %v\n%s", ids, st, h.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// command sends one line to HAProxy's runtime API and returns its answer.
func (h *haproxy) command(t *testing.T, line string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", h.sock, 5*time.Second)
	if err != nil {
		t.Fatalf("HAProxy admin socket: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintln(c, line)
	out, _ := io.ReadAll(c)
	return string(out)
}

// route sends new connections only to the nodes ids: the others go into
// maintenance (live connections stay), and it waits until HAProxy agrees.
func (c *cluster) route(ids ...string) {
	c.t.Helper()
	for _, n := range c.nodes {
		state := "maint"
		for _, id := range ids {
			if id == n.id {
				state = "ready"
			}
		}
		if out := c.hap.command(c.t, "set server termhost_ssh/"+n.id+" state "+state); strings.TrimSpace(out) != "" {
			c.t.Fatalf("HAProxy set server %s %s: %s", n.id, state, out)
		}
	}
	c.hap.waitUp(c.t, ids...)
}

// sshCmd is the OpenSSH command line that reaches the cluster through
// HAProxy as user with key; extra goes before the destination (e.g. "-b",
// "127.0.0.7" to choose the client's address).
func (c *cluster) sshCmd(key, user string, extra ...string) string {
	_, port, _ := net.SplitHostPort(c.hap.front)
	args := []string{"ssh", "-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-p", port}
	args = append(args, extra...)
	args = append(args, user+"@127.0.0.1")
	return strings.Join(args, " ")
}

// attachVia opens OpenSSH through HAProxy in a new tmux terminal and waits
// for user's workspace.
func (c *cluster) attachVia(key, user string, extra ...string) *term {
	c.t.Helper()
	need(c.t, "ssh", "tmux")
	tm := newTerm(c.t, 100, 30, c.sshCmd(key, user, extra...))
	tm.waitFor(" " + user + " · ")
	return tm
}

// goClient is an x/crypto/ssh client with a pty shell drawn on a screen.
type goClient struct {
	conn   *gossh.Client
	sess   *gossh.Session
	in     io.WriteCloser
	scr    *testterm.Screen
	local  string // the client's own address
	closed chan struct{}
}

// dialGo logs user in at addr with key (a new account signs up with it),
// from local IP (":0" port) when given, and opens a pty shell with command
// (empty: the default attach/pick/create).
func dialGo(addr, localIP, user string, key gossh.Signer, command string) (*goClient, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if localIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(localIP)}
	}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	raw.SetDeadline(time.Now().Add(15 * time.Second)) // the handshake only
	cc, chans, reqs, err := gossh.NewClientConn(raw, addr, &gossh.ClientConfig{User: user,
		Auth: []gossh.AuthMethod{gossh.PublicKeys(key)}, HostKeyCallback: gossh.InsecureIgnoreHostKey()})
	if err != nil {
		raw.Close()
		return nil, err
	}
	raw.SetDeadline(time.Time{})
	conn := gossh.NewClient(cc, chans, reqs)
	g := &goClient{conn: conn, local: raw.LocalAddr().String(), scr: testterm.New(80, 24), closed: make(chan struct{})}
	if g.sess, err = conn.NewSession(); err == nil {
		err = g.sess.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{gossh.ECHO: 0})
	}
	if err == nil {
		g.in, err = g.sess.StdinPipe()
	}
	if err == nil {
		g.sess.Stdout, g.sess.Stderr = g.scr, io.Discard
		if command == "" {
			err = g.sess.Shell()
		} else {
			err = g.sess.Start(command)
		}
	}
	if err != nil {
		g.close()
		return nil, err
	}
	go func() { g.sess.Wait(); close(g.closed) }()
	return g, nil
}

// mustDial is dialGo that fails t and closes the client when t ends.
func mustDial(t *testing.T, addr, localIP, user string, key gossh.Signer, command string) *goClient {
	t.Helper()
	g, err := dialGo(addr, localIP, user, key, command)
	if err != nil {
		t.Fatalf("ssh %s@%s from %s: %v", user, addr, localIP, err)
	}
	t.Cleanup(g.close)
	return g
}

func (g *goClient) send(t testing.TB, s string) {
	t.Helper()
	if _, err := io.WriteString(g.in, s); err != nil {
		t.Fatalf("typing %q: %v", s, err)
	}
}

func (g *goClient) close() {
	g.conn.Close()
	g.scr.Close()
}

// waitClosed waits (at most d) for the server to end the shell.
func (g *goClient) waitClosed(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case <-g.closed:
	case <-time.After(d):
		t.Fatalf("the server did not close the session within %s; screen:\n%s", d, g.scr.Text())
	}
}

// db opens the cluster's database for assertions on what the nodes wrote.
func (c *cluster) db() *pgx.Conn {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.dsn)
	if err != nil {
		c.t.Fatalf("connect to the cluster's database: %v", err)
	}
	c.t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// firstLine is the first line of s holding want, for log excerpts.
func firstLine(s, want string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.Contains(sc.Text(), want) {
			return sc.Text()
		}
	}
	return ""
}
