package metrics_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"termhost/admin"
	"termhost/admission"
	"termhost/auth"
	"termhost/hostkeys"
	"termhost/internal/testterm"
	"termhost/metrics"
	"termhost/persist"
	"termhost/sessions"
	"termhost/sshd"
	"termhost/tui/apps"
)

// wait bounds every poll; generous for -race on two cores.
const wait = 10 * time.Second

// node is a real sshd on loopback wired as cli/serve.go wires it, with or
// without metrics.
type node struct {
	t       testing.TB
	addr    string
	ops     string // base URL of /metrics, /healthz, /readyz ("" without metrics)
	hostKey gossh.PublicKey
	store   persist.Store
	mgr     *sessions.Manager
	runner  *admin.Runner
}

// nodeOptions vary a test node.
type nodeOptions struct {
	metrics bool
	gate    admission.Config // Grace defaults to wait
}

func startNode(t testing.TB, o nodeOptions) *node {
	t.Helper()
	ctx := context.Background()
	var store persist.Store = openStore(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var m *metrics.Metrics
	if o.metrics {
		m = metrics.New()
		store = m.InstrumentStore(store)
	}
	cfg := sessions.Config{Store: store, Policy: sessions.DefaultPolicy(), Node: "n1", Registry: apps.Registry(), Log: log}
	if m != nil {
		cfg.Metrics = m
	}
	mgr := sessions.NewManager(cfg)
	if err := mgr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mgr.Shutdown(context.Background(), "test over") })
	limiter := auth.NewLimiter(time.Now)
	limiter.BaseDelay, limiter.MaxDelay = time.Millisecond, 4*time.Millisecond
	authn := &auth.Authenticator{Users: store, AllowSignup: true, Sources: limiter, Log: log}
	if o.gate.Grace == 0 {
		o.gate.Grace = wait
	}
	if m != nil {
		authn.Metrics, o.gate.Metrics = m, m
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	runner := &admin.Runner{Manager: mgr, Audit: store, Now: time.Now}
	srv, err := sshd.Listen(sshd.Config{Addr: "127.0.0.1:0", HostKeys: []hostkeys.Key{{Signer: hk}},
		Auth: authn, Users: store, Manager: mgr, Admin: runner, Admission: admission.New(o.gate), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	n := &node{t: t, addr: srv.Addr().String(), hostKey: hk.PublicKey(), store: store, mgr: mgr, runner: runner}
	if m != nil {
		m.AddLive(mgr)
		n.ops = serveOps(t, m, metrics.NewHealth(nil))
	}
	return n
}

func (n *node) dial(user string, methods ...gossh.AuthMethod) (*gossh.Client, error) {
	c, err := gossh.Dial("tcp", n.addr, &gossh.ClientConfig{
		User: user, Auth: methods, HostKeyCallback: gossh.FixedHostKey(n.hostKey), Timeout: wait,
	})
	if err == nil {
		n.t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// term is an interactive session on a pty, seen through a screen.
type term struct {
	t    testing.TB
	sess *gossh.Session
	in   io.WriteCloser
	scr  *testterm.Screen
	exit chan error
}

func shell(t testing.TB, c *gossh.Client) *term {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
		t.Fatal(err)
	}
	tm := &term{t: t, sess: sess, scr: testterm.New(80, 24), exit: make(chan error, 1)}
	if tm.in, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	sess.Stdout, sess.Stderr = tm.scr, io.Discard
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	go func() { tm.exit <- sess.Wait() }()
	t.Cleanup(func() {
		sess.Close()
		tm.scr.Close()
	})
	return tm
}

func (tm *term) send(s string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.in, s); err != nil {
		tm.t.Fatalf("send %q: %v", s, err)
	}
}

func (tm *term) waitExit() {
	tm.t.Helper()
	select {
	case <-tm.exit:
	case <-time.After(wait):
		tm.t.Fatalf("session did not end; screen:\n%s", tm.scr.Text())
	}
}

// waitMetric polls /metrics until cond holds for the named series.
func (n *node) waitMetric(t *testing.T, what string, cond func(v float64) bool, name string, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		v, _ := value(scrape(t, n.ops+"/metrics"), name, labels...)
		if cond(v) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s%v = %v", what, name, labels, v)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A scripted login, keystrokes and a detach move the counters and
// histograms they should, and nothing else: the scrape is parsed with
// expfmt as Prometheus would.
func TestScrapeAfterLoginTypingDetach(t *testing.T) {
	// A burst of 5 connections from 127.0.0.1 and no refill: the sixth
	// connection is refused for its rate.
	n := startNode(t, nodeOptions{metrics: true, gate: admission.Config{
		Rate: admission.NewConnRate(0.0001, 5, time.Now)}})
	before := scrape(t, n.ops+"/metrics")

	// Conn 1: a wrong password for an account that exists (made by signup
	// on conn 2 first, so the failure is a real credential failure).
	c := func() *gossh.Client {
		c, err := n.dial("alice", gossh.Password("correct horse"))
		if err != nil {
			t.Fatalf("signup by password: %v", err)
		}
		return c
	}()
	if _, err := n.dial("alice", gossh.Password("wrong")); err == nil {
		t.Fatal("a wrong password logged in")
	}
	tm := shell(t, c)
	tm.scr.WaitFor(t, " alice · 1", wait)

	// While attached: one attached session, one ssh client; the admin
	// verb reads the same numbers (one source of truth).
	mf := scrape(t, n.ops+"/metrics")
	var out bytes.Buffer
	if code := n.runner.Run(context.Background(), "operator", []string{"sessions", "stats", "--json"}, &out, io.Discard); code != 0 {
		t.Fatalf("sessions stats exit %d", code)
	}
	st := decodeStats(t, out.Bytes())
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{name: "termhost_sessions", labels: []string{"state=attached"}, want: float64(st.Attached)},
		{name: "termhost_sessions", labels: []string{"state=detached"}, want: float64(st.Live - st.Attached)},
		{name: "termhost_clients", labels: []string{"transport=ssh"}, want: float64(st.ClientsByTransport["ssh"])},
	} {
		if got, _ := value(mf, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v, but sessions stats says %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if st.Attached != 1 || st.ClientsByTransport["ssh"] != 1 {
		t.Errorf("sessions stats while attached = %+v, want 1 attached session with 1 ssh client", st)
	}
	out.Reset()
	n.runner.Run(context.Background(), "operator", []string{"sessions", "stats"}, &out, io.Discard)
	if !strings.Contains(out.String(), "clients by transport: ssh 1") {
		t.Errorf("sessions stats (text) does not split clients by transport:\n%s", out.String())
	}

	const typed = "zqxjw" // not elsewhere on screen: each key waits for its own echo
	for i := range typed {
		tm.send(typed[i : i+1])
		tm.scr.WaitFor(t, typed[:i+1], wait)
	}
	// The echo of the last key may be measured just after the screen shows it.
	n.waitMetric(t, "echoes", func(v float64) bool { return v >= float64(len(typed)) }, "termhost_key_echo_seconds")
	tm.send("\x02d")
	tm.waitExit()
	n.waitMetric(t, "detached", func(v float64) bool { return v == 1 }, "termhost_sessions", "state=detached")
	n.waitMetric(t, "snapshot written", func(v float64) bool { return v >= 1 }, "termhost_snapshot_write_seconds")

	// Refused for its rate: connections 3, 4, 5 are allowed, then one is not.
	refused := false
	for i := 0; i < 5 && !refused; i++ {
		_, err := n.dial("alice", gossh.Password("correct horse"))
		refused = err != nil
	}
	if !refused {
		t.Fatal("no connection was refused by the rate limit")
	}

	after := scrape(t, n.ops+"/metrics")
	delta := func(name string, labels ...string) float64 {
		a, _ := value(after, name, labels...)
		b, _ := value(before, name, labels...)
		return a - b
	}
	tests := []struct {
		name   string
		family string
		labels []string
		min    float64
		max    float64
	}{
		{name: "successful password logins", family: "termhost_logins_total", labels: []string{"transport=ssh", "result=success"}, min: 4, max: 4},
		{name: "failed password login", family: "termhost_logins_total", labels: []string{"transport=ssh", "result=failure"}, min: 1, max: 1},
		{name: "no telnet logins", family: "termhost_logins_total", labels: []string{"transport=telnet", "result=success"}, min: 0, max: 0},
		{name: "rate refusal", family: "termhost_connections_refused_total", labels: []string{"reason=rate"}, min: 1, max: 1},
		{name: "first frame", family: "termhost_first_frame_seconds", min: 1, max: 1},
		{name: "key echoes", family: "termhost_key_echo_seconds", min: float64(len(typed)), max: float64(len(typed)) + 2},
		{name: "snapshot writes", family: "termhost_snapshot_write_seconds", min: 1, max: 100},
		{name: "snapshot sizes", family: "termhost_snapshot_bytes", min: 1, max: 100},
		{name: "no store errors", family: "termhost_store_errors_total", min: 0, max: 0},
		{name: "attached after detach", family: "termhost_sessions", labels: []string{"state=attached"}, min: 0, max: 0},
		{name: "ssh clients after detach", family: "termhost_clients", labels: []string{"transport=ssh"}, min: 0, max: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := delta(tt.family, tt.labels...)
			if tt.family == "termhost_sessions" || tt.family == "termhost_clients" {
				got, _ = value(after, tt.family, tt.labels...) // gauges: the value, not a change
			}
			if got < tt.min || got > tt.max {
				t.Errorf("%s%v moved by %v, want %v…%v", tt.family, tt.labels, got, tt.min, tt.max)
			}
		})
	}
	// Latencies are real: the first frame and echoes took more than zero
	// and less than the test's patience.
	for _, name := range []string{"termhost_first_frame_seconds", "termhost_key_echo_seconds"} {
		h := after[name].GetMetric()[0].GetHistogram()
		if mean := h.GetSampleSum() / float64(h.GetSampleCount()); mean <= 0 || mean > wait.Seconds() {
			t.Errorf("%s mean = %v s", name, mean)
		}
	}
}

func decodeStats(t testing.TB, b []byte) sessions.Stats {
	t.Helper()
	var st sessions.Stats
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("sessions stats --json: %v\n%s", err, b)
	}
	return st
}
