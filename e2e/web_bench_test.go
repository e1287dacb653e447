package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	gossh "golang.org/x/crypto/ssh"
)

// The web transport's figures for BENCHMARKS.md ("Web terminal"), against
// the real binary on loopback with a Go WebSocket client:
//
//	TERMHOST_WEB_BENCH=1 go test ./e2e -run 'TestWebBench' -v -count 1
//
// (the server is built without -race unless the test run uses it). They
// are tests, not benchmarks, because the server harness is made for
// *testing.T; without the variable they skip.

func benchOnly(t *testing.T) {
	t.Helper()
	if os.Getenv("TERMHOST_WEB_BENCH") != "1" {
		t.Skip("set TERMHOST_WEB_BENCH=1 to measure the web transport")
	}
}

// webUser adds an account and signs it in over HTTP; it returns the login
// token, for Bearer use.
func webUser(tb testing.TB, s *server, name, password string) string {
	tb.Helper()
	if out, err := s.run(password+"\n", "user", "add", name, "--password-stdin"); err != nil {
		tb.Fatalf("user add %s: %v\n%s", name, err, out)
	}
	return webSignIn(tb, &http.Client{Timeout: 10 * time.Second}, "http://"+s.httpAddr, name, password)
}

// webSignIn posts the sign-in form at base with c as a browser would (the
// form's CSRF cookie first) and returns the login token.
func webSignIn(tb testing.TB, c *http.Client, base, name, password string) string {
	tb.Helper()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(base + "/")
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	var csrf string
	for _, ck := range resp.Cookies() {
		if ck.Name == "termhost_csrf" {
			csrf = ck.Value
		}
	}
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(url.Values{"csrf": {csrf}, "user": {name}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "termhost_csrf", Value: csrf})
	resp, err = c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "termhost_login" {
			return ck.Value
		}
	}
	tb.Fatalf("sign in as %s: status %d, no login cookie", name, resp.StatusCode)
	return ""
}

// webTerm is a bare WebSocket terminal client: frames in, keys out.
type webTerm struct {
	ws     *websocket.Conn
	frames chan frame
}

// frame is output as the client's reader got it, stamped when its read
// returned: the hand-off to the measuring goroutine is the client's cost,
// not the server's.
type frame struct {
	data []byte
	at   time.Time
}

func dialWeb(tb testing.TB, s *server, token, path string) *webTerm {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+s.httpAddr+path, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		tb.Fatalf("dial %s: %v", path, err)
	}
	ws.SetReadLimit(4 << 20)
	w := &webTerm{ws: ws, frames: make(chan frame, 1024)}
	go func() {
		// One buffer for every read, and the copy made after the time is
		// taken: the client's own allocations (and the collections they
		// cause) stay out of the server's figures.
		defer close(w.frames)
		buf := make([]byte, 4<<20)
		for {
			typ, r, err := ws.Reader(context.Background())
			if err != nil {
				return
			}
			n, err := io.ReadFull(r, buf)
			at := time.Now()
			if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
				return
			}
			if typ == websocket.MessageBinary {
				w.frames <- frame{bytes.Clone(buf[:n]), at}
			}
		}
	}()
	tb.Cleanup(func() { ws.CloseNow() })
	return w
}

// until reads frames until one holds want; it returns the arrival time.
func (w *webTerm) until(tb testing.TB, want []byte) time.Time {
	tb.Helper()
	timeout := time.After(10 * time.Second)
	var seen []byte
	for {
		select {
		case f, ok := <-w.frames:
			if !ok {
				tb.Fatalf("socket closed waiting for %q; seen %q", want, seen)
			}
			if seen = append(seen, f.data...); bytes.Contains(f.data, want) || bytes.Contains(seen, want) {
				return f.at
			}
		case <-timeout:
			tb.Fatalf("no %q within 10 s; seen %q", want, seen)
		}
	}
}

func (w *webTerm) drain() {
	for {
		select {
		case _, ok := <-w.frames:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// TestWebBenchKeyEcho: a key sent, until the output that echoes it, one
// session each over the web and over SSH on the same server, keys
// interleaved so both see the same machine, 10 ms between keys (as the SSH
// row in BENCHMARKS.md §3), 2,000 keys each.
//
// TERMHOST_WEB_BENCH_AGAINST=/path/to/termhost (another build) replaces
// the SSH session with a web session on a second server run from that
// binary, its keys interleaved with this build's: an A/B in one run, both
// builds seeing the same moments of this VM, whose speed drifts between
// runs (BENCHMARKS "Key→echo, sixth session"). TERMHOST_WEB_BENCH_BINARY
// runs the first server from another binary than this checkout's.
func TestWebBenchKeyEcho(b *testing.T) {
	benchOnly(b)
	const keysN = 2000
	metricsAddr := freeAddr(b)
	s := startServer(b, "", "--http-addr", "127.0.0.1:0", "--metrics-addr", metricsAddr)
	if bin := os.Getenv("TERMHOST_WEB_BENCH_BINARY"); bin != "" { // this build's, made elsewhere (an A/B of two others)
		s.stop()
		s.bin = bin
		s.start()
	}
	tok := webUser(b, s, "bench", "pw-bench")
	floor := dialEchoFloor(b)

	type probe struct {
		name string
		echo func(k byte, newline bool) time.Duration
		lat  []time.Duration
	}
	webProbe := func(name string, s *server, tok string) *probe {
		w := dialWeb(b, s, tok, "/s/new/ws?cols=80&rows=24")
		w.until(b, []byte("bench"))
		return &probe{name: name, echo: func(k byte, newline bool) time.Duration {
			w.drain()
			sent := time.Now()
			if err := w.ws.Write(context.Background(), websocket.MessageBinary, []byte{k}); err != nil {
				b.Fatal(err)
			}
			d := w.until(b, []byte{k}).Sub(sent)
			if newline {
				w.ws.Write(context.Background(), websocket.MessageBinary, []byte{'\r'})
			}
			return d
		}}
	}
	probes := []*probe{
		{name: "tcp echo (machine floor)", echo: func(k byte, _ bool) time.Duration { return floor.echo(b, k) }},
		webProbe("web", s, tok),
	}
	metrics := []string{metricsAddr}
	if against := os.Getenv("TERMHOST_WEB_BENCH_AGAINST"); against != "" {
		addr := freeAddr(b)
		other := &server{t: b, dataDir: b.TempDir(), bin: against, args: []string{"--http-addr", "127.0.0.1:0", "--metrics-addr", addr}}
		other.start()
		b.Cleanup(other.stop)
		probes = append(probes, webProbe("web against "+against, other, webUser(b, other, "bench", "pw-bench")))
		metrics = append(metrics, addr)
	} else {
		sh := dialSSHBench(b, s, "bench", "pw-bench")
		sh.until(b, []byte("bench"))
		probes = append(probes, &probe{name: "ssh", echo: func(k byte, newline bool) time.Duration {
			sh.drain()
			sent := time.Now()
			if _, err := sh.in.Write([]byte{k}); err != nil {
				b.Fatal(err)
			}
			d := sh.until(b, []byte{k}).Sub(sent)
			if newline {
				sh.in.Write([]byte{'\r'})
			}
			return d
		}})
	}

	keys := []byte("abcdefghijklmnopqrstuvwxyz")
	for i := range keysN {
		k := keys[i%len(keys)]
		newline := i%60 == 59 // a new line now and then keeps frames small, as typing does
		order := probes
		if i%2 == 1 { // neither session always follows the other
			order = []*probe{probes[0], probes[2], probes[1]}
		}
		for _, p := range order {
			time.Sleep(10 * time.Millisecond)
			p.lat = append(p.lat, p.echo(k, newline))
		}
	}
	for _, p := range probes {
		slices.Sort(p.lat)
		over := len(p.lat) - sort.Search(len(p.lat), func(i int) bool { return p.lat[i] > time.Millisecond })
		b.Logf("%s key→echo over %d keys: p50 %v, p99 %v, max %v (p90 %v, p98 %v; %d keys over 1 ms)", p.name, len(p.lat),
			p.lat[len(p.lat)/2], p.lat[len(p.lat)*99/100], p.lat[len(p.lat)-1], p.lat[len(p.lat)*90/100], p.lat[len(p.lat)*98/100], over)
	}
	// The server's own share: from reading the key to writing its frame
	// (termhost_key_echo_seconds; both transports together unless against
	// another build).
	for _, addr := range metrics {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		b.Logf("metrics of the server on %s:", addr)
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, "termhost_key_echo_seconds_bucket") || strings.HasPrefix(line, "termhost_key_echo_seconds_count") || strings.HasPrefix(line, "termhost_snapshot_write_seconds_bucket") || strings.HasPrefix(line, "termhost_snapshot_write_seconds_sum") || strings.HasPrefix(line, "termhost_snapshot_write_seconds_count") || strings.HasPrefix(line, "go_gc_duration_seconds") || strings.HasPrefix(line, "go_memstats_alloc_bytes_total") {
				b.Log(line)
			}
		}
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// echoFloorEnv makes the test binary a plain TCP echo server (TestMain):
// a byte to a separate Go process over loopback and back, with the same
// pause, is the least any key→echo can take on this machine.
const echoFloorEnv = "TERMHOST_ECHO_FLOOR"

// echoFloorServer prints its address, echoes one connection until it
// ends, and exits.
func echoFloorServer() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(l.Addr())
	c, err := l.Accept()
	if err != nil {
		os.Exit(1)
	}
	io.Copy(c, c)
	os.Exit(0)
}

// echoFloor is the client of an echoFloorServer child process.
type echoFloor struct {
	c   net.Conn
	buf []byte
}

func dialEchoFloor(tb testing.TB) *echoFloor {
	tb.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), echoFloorEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var addr string
	if _, err := fmt.Fscanln(out, &addr); err != nil {
		tb.Fatalf("echo floor server: %v", err)
	}
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return &echoFloor{c: c, buf: make([]byte, 64)}
}

// echo sends k and returns how long until it came back.
func (f *echoFloor) echo(tb testing.TB, k byte) time.Duration {
	tb.Helper()
	f.c.SetDeadline(time.Now().Add(10 * time.Second))
	sent := time.Now()
	if _, err := f.c.Write([]byte{k}); err != nil {
		tb.Fatal(err)
	}
	if _, err := io.ReadFull(f.c, f.buf[:1]); err != nil || f.buf[0] != k {
		tb.Fatalf("echo floor: %v (got %q, want %q)", err, f.buf[0], k)
	}
	return time.Since(sent)
}

// sshTerm is an x/crypto SSH client on a pty: output chunks in, keys out.
type sshTerm struct {
	in     io.Writer
	frames chan frame
}

func dialSSHBench(tb testing.TB, s *server, user, password string) *sshTerm {
	tb.Helper()
	c, err := gossh.Dial("tcp", s.sshAddr, &gossh.ClientConfig{User: user, Auth: []gossh.AuthMethod{gossh.Password(password)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		tb.Fatalf("ssh dial: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	sess, err := c.NewSession()
	if err != nil {
		tb.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
		tb.Fatal(err)
	}
	in, _ := sess.StdinPipe()
	out, _ := sess.StdoutPipe()
	if err := sess.Start("new"); err != nil { // its own session: a plain attach would take the web one over
		tb.Fatal(err)
	}
	t := &sshTerm{in: in, frames: make(chan frame, 1024)}
	go func() {
		defer close(t.frames)
		buf := make([]byte, 32<<10) // as the web client: one buffer, copied after the time is taken
		for {
			n, err := out.Read(buf)
			if n > 0 {
				at := time.Now()
				t.frames <- frame{bytes.Clone(buf[:n]), at}
			}
			if err != nil {
				return
			}
		}
	}()
	return t
}

func (t *sshTerm) until(tb testing.TB, want []byte) time.Time {
	tb.Helper()
	return (&webTerm{frames: t.frames}).until(tb, want)
}

func (t *sshTerm) drain() { (&webTerm{frames: t.frames}).drain() }

// TestWebBenchClientMemory: the server's memory per attached web client
// (each its own session, 80×24), from `sessions stats --json` and VmRSS
// before and after 200 clients.
func TestWebBenchClientMemory(b *testing.T) {
	benchOnly(b)
	const webClients = 200
	b.Setenv("TERMHOST_MAX_SESSIONS_PER_USER", "1000")
	b.Setenv("TERMHOST_CONN_RATE", "0") // 200 sockets from one address at once
	b.Setenv("TERMHOST_MAX_SSH_CONNS_PER_USER", "0")
	b.Setenv("TERMHOST_MAX_SSH_CONNS_PER_SOURCE", "0")
	s := startServer(b, "", "--http-addr", "127.0.0.1:0")
	tok := webUser(b, s, "mem", "pw-memory")
	before := serverMemory(b, s)
	var terms []*webTerm
	for range webClients {
		w := dialWeb(b, s, tok, "/s/new/ws?cols=80&rows=24")
		w.until(b, []byte("mem"))
		terms = append(terms, w)
	}
	after := serverMemory(b, s)
	if after.clients != webClients {
		b.Fatalf("server counts %d web clients, want %d", after.clients, webClients)
	}
	b.Logf("per web client (%d): heap %.1f KiB, RSS %.1f KiB, goroutines %.1f", webClients,
		float64(after.heap-before.heap)/webClients/1024, float64(after.rss-before.rss)/webClients/1024,
		float64(after.goroutines-before.goroutines)/webClients)
	// A client of a session typed in keeps its screen (sessions.HotScreenIdle).
	for _, w := range terms {
		w.drain()
		w.ws.Write(context.Background(), websocket.MessageBinary, []byte{'q'})
		w.until(b, []byte{'q'})
	}
	typed := serverMemory(b, s)
	b.Logf("per web client typing (%d): heap %.1f KiB, RSS %.1f KiB", webClients,
		float64(typed.heap-before.heap)/webClients/1024, float64(typed.rss-before.rss)/webClients/1024)
	for _, w := range terms {
		w.ws.Close(websocket.StatusNormalClosure, "")
	}
}

type memory struct {
	heap, rss, goroutines uint64
	clients               int
}

func serverMemory(tb testing.TB, s *server) memory {
	tb.Helper()
	out, err := s.run("", "sessions", "stats", "--json")
	if err != nil {
		tb.Fatalf("sessions stats: %v\n%s", err, out)
	}
	var st struct {
		Heap       uint64         `json:"heap_live_bytes"`
		Goroutines uint64         `json:"goroutines"`
		ByT        map[string]int `json:"clients_by_transport"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		tb.Fatalf("sessions stats --json: %v\n%s", err, out)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(status)
	rss, _ := strconv.ParseUint(string(m[1]), 10, 64)
	return memory{heap: st.Heap, rss: rss << 10, goroutines: st.Goroutines, clients: st.ByT["web"]}
}
