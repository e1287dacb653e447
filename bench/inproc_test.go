package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"termhost/admission"
	"termhost/auth"
	"termhost/hostkeys"
	"termhost/persist/sqlite"
	"termhost/sessions"
	"termhost/sshd"
	"termhost/tui/apps"
)

// inproc is a termhost server inside the test process, wired as
// cli/serve.go wires it (minus the admin socket and telnet), so that
// `go test -bench -cpuprofile/-memprofile` can profile the server's hot
// paths. The client runs in the same process: profiles show both sides.
type inproc struct {
	addr string
	mgr  *sessions.Manager
}

// Host keys are made once per test binary: RSA generation would
// otherwise dominate every benchmark's CPU profile.
var (
	hostKeysOnce sync.Once
	hostKeysDir  string
	hostKeys     []hostkeys.Key
	hostKeysErr  error
)

func sharedHostKeys() ([]hostkeys.Key, error) {
	hostKeysOnce.Do(func() {
		if hostKeysDir, hostKeysErr = os.MkdirTemp("", "bench-hostkeys-"); hostKeysErr == nil {
			hostKeys, hostKeysErr = hostkeys.LoadOrCreate(filepath.Join(hostKeysDir, "hostkeys"))
		}
	})
	return hostKeys, hostKeysErr
}

func TestMain(m *testing.M) {
	code := m.Run()
	if hostKeysDir != "" {
		os.RemoveAll(hostKeysDir)
	}
	os.Exit(code)
}

func startInproc(tb testing.TB, policy sessions.Policy) *inproc {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "termhost.db"))
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := sharedHostKeys()
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mgr := sessions.NewManager(sessions.Config{Store: store, Policy: policy, Node: "bench", Registry: apps.Registry(), Log: log})
	if err := mgr.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	srv, err := sshd.Listen(sshd.Config{Addr: "127.0.0.1:0", HostKeys: keys, Auth: &auth.Authenticator{Users: store, AllowSignup: true},
		Users: store, Manager: mgr, Admission: admission.New(admission.Config{MaxUnauth: 1024, Grace: 30 * time.Second}), Log: log,
		Limits: &sshd.Limits{}}) // all load comes from 127.0.0.1: no per-source cap
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve()
	tb.Cleanup(func() {
		mgr.Shutdown(context.Background(), "")
		srv.Close()
		store.Close()
	})
	return &inproc{addr: srv.Addr().String(), mgr: mgr}
}

func benchTarget(tb testing.TB, addr string) Target {
	signer, _, err := NewKey()
	if err != nil {
		tb.Fatal(err)
	}
	return Target{Dialer: Dialer{Addr: addr, Signer: signer}, Marker: "ctrl+b ? help", Detach: []byte{0x02, 'd'}, Newline: []byte{'\r'}}
}

func reportLatency(b *testing.B, name string, s Summary) {
	b.ReportMetric(float64(s.P50)/1e6, name+"-p50-ms")
	b.ReportMetric(float64(s.P99)/1e6, name+"-p99-ms")
}

// BenchmarkFirstFrame: an existing user connects, authenticates, gets a
// new session and its complete first frame, over SSH. The accounts are
// made before the timer starts.
func BenchmarkFirstFrame(b *testing.B) {
	srv := startInproc(b, sessions.DefaultPolicy())
	t := benchTarget(b, srv.addr)
	users := Users("ff", "", b.N)
	if su := Signup(context.Background(), t, users, 8); su.Errors > 0 {
		b.Fatal(su.FirstError)
	}
	benchConnect(b, t, users)
}

// BenchmarkFirstLogin: as BenchmarkFirstFrame, but each connect also signs
// the user up.
func BenchmarkFirstLogin(b *testing.B) {
	srv := startInproc(b, sessions.DefaultPolicy())
	t := benchTarget(b, srv.addr)
	benchConnect(b, t, Users("fl", "", b.N))
}

func benchConnect(b *testing.B, t Target, users []string) {
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		term, err := connectOne(context.Background(), t, i, users[i], Keep)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, term.Timing.Frame)
		b.StopTimer()
		term.Close()
		b.StartTimer()
	}
	reportLatency(b, "frame", Summarize(lat))
}

// BenchmarkReattach: the same user attaching its detached session again.
func BenchmarkReattach(b *testing.B) {
	srv := startInproc(b, sessions.DefaultPolicy())
	t := benchTarget(b, srv.addr)
	if _, err := connectOne(context.Background(), t, 0, "again", DetachIt); err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		term, err := connectOne(context.Background(), t, 0, "again", DetachIt)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, term.Timing.Frame)
	}
	reportLatency(b, "frame", Summarize(lat))
}

// BenchmarkKeyEcho: one letter typed into Notes over SSH until its echo
// arrives.
func BenchmarkKeyEcho(b *testing.B) {
	srv := startInproc(b, sessions.DefaultPolicy())
	t := benchTarget(b, srv.addr)
	term, err := connectOne(context.Background(), t, 0, "typist", Keep)
	if err != nil {
		b.Fatal(err)
	}
	defer term.Close()
	ty := &Typist{LineLen: 40, Newline: t.Newline}
	var lat []time.Duration
	var bytes int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key, want := ty.Next()
		k, err := term.Key(key, want, time.Now().Add(5*time.Second))
		if err != nil {
			b.Fatal(err)
		}
		if want != 0 {
			lat = append(lat, k.Latency)
		}
		bytes += k.Bytes
	}
	reportLatency(b, "echo", Summarize(lat))
	b.ReportMetric(float64(bytes)/float64(b.N), "B/key")
}

// memConn is a sessions.Conn in memory: no SSH, so profiles and heap
// counts show the session layer alone.
type memConn struct {
	in     *io.PipeReader
	keys   *io.PipeWriter
	out    chan []byte
	closed chan struct{}
	once   sync.Once
}

func newMemConn() *memConn {
	r, w := io.Pipe()
	return &memConn{in: r, keys: w, out: make(chan []byte, 64), closed: make(chan struct{})}
}

func (c *memConn) Read(p []byte) (int, error) { return c.in.Read(p) }

func (c *memConn) Write(p []byte) (int, error) {
	select {
	case c.out <- append([]byte(nil), p...):
		return len(p), nil
	case <-c.closed:
		return 0, io.ErrClosedPipe
	}
}

func (c *memConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.in.Close()
	})
	return nil
}

// waitOut reads output until a chunk holds want (any chunk when want is 0).
func (c *memConn) waitOut(tb testing.TB, want string) {
	tb.Helper()
	m := NewMatcher(want)
	timeout := time.After(5 * time.Second)
	for {
		select {
		case p := <-c.out:
			if m.Feed(p) {
				return
			}
		case <-timeout:
			tb.Fatalf("no %q within 5 s", want)
		}
	}
}

// serveMem attaches user over a memConn and waits for the first frame.
func serveMem(tb testing.TB, mgr *sessions.Manager, user string) (*memConn, <-chan error) {
	c := newMemConn()
	done := make(chan error, 1)
	info := sessions.ClientInfo{Transport: "ssh", Remote: "127.0.0.1:1", Term: "xterm-256color", Width: 80, Height: 24}
	go func() { done <- mgr.Serve(context.Background(), c, info, sessions.User{Name: user}, nil) }()
	c.waitOut(tb, "ctrl+b ? help")
	return c, done
}

// BenchmarkSessionEcho: one key through the session layer only (decode,
// workspace update, view, diff, outbox), no SSH.
func BenchmarkSessionEcho(b *testing.B) {
	srv := startInproc(b, sessions.DefaultPolicy())
	c, _ := serveMem(b, srv.mgr, "memtypist")
	defer c.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ch := byte('a' + i%26)
		if i%40 == 39 {
			ch = '\r'
		}
		if _, err := c.keys.Write([]byte{ch}); err != nil {
			b.Fatal(err)
		}
		<-c.out
	}
}

// BenchmarkSessionMemory reports the Go heap each session keeps in each
// state, at 80×24, through the session layer (no SSH: the SSH layer's
// share is in the process-level figures of thload). Run with
// -benchtime=500x; -memprofile then shows what the sessions retain.
func BenchmarkSessionMemory(b *testing.B) {
	for _, state := range []string{"attached", "detached", "hibernated"} {
		b.Run(state, func(b *testing.B) {
			policy := sessions.DefaultPolicy()
			if state == "hibernated" {
				policy.HibernateAfter = time.Millisecond
			}
			srv := startInproc(b, policy)
			var conns []*memConn
			before := heapLive()
			for i := 0; i < b.N; i++ {
				c, done := serveMem(b, srv.mgr, fmt.Sprintf("m%s%06d", state[:1], i))
				if state == "attached" {
					conns = append(conns, c)
					continue
				}
				c.keys.Write([]byte{0x02, 'd'})
				<-done
				c.Close()
			}
			if state == "hibernated" {
				deadline := time.Now().Add(time.Minute)
				for hibernatedCount(b, srv.mgr) < b.N && time.Now().Before(deadline) {
					time.Sleep(100 * time.Millisecond)
				}
			}
			// The server's farewell timer keeps a closed connection
			// reachable for 5 s.
			if state != "attached" {
				time.Sleep(5500 * time.Millisecond)
			}
			after := heapLive()
			b.ReportMetric(float64(after-before)/float64(b.N), "heap-B/session")
			writeHeapProfile(b, state)
			for _, c := range conns {
				c.Close()
			}
		})
	}
}

// -heapprofile PREFIX writes PREFIX.STATE.heap while the sessions are
// still in memory (the standard -memprofile is written after cleanup,
// when they are gone).
var heapProfile = flag.String("heapprofile", "", "write a heap profile per BenchmarkSessionMemory state to this prefix")

func writeHeapProfile(tb testing.TB, state string) {
	if *heapProfile == "" {
		return
	}
	f, err := os.Create(*heapProfile + "." + state + ".heap")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		tb.Fatal(err)
	}
}

func hibernatedCount(tb testing.TB, mgr *sessions.Manager) int {
	infos, err := mgr.List(context.Background(), "", "hibernated")
	if err != nil {
		tb.Fatal(err)
	}
	return len(infos)
}

func heapLive() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
