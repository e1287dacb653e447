package sessions_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"termhost/internal/testterm"
	"termhost/persist"
	"termhost/persist/sqlite"
	"termhost/sessions"
	"termhost/tui/apps"
)

// wait bounds every poll for a screen or a goroutine; generous for -race.
const wait = 10 * time.Second

// fakeClock is a sessions.Clock whose time moves only in Advance, which
// runs the timers that fall due, in order, on the caller's goroutine.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) sessions.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves time forward by d, firing due timers (outside the lock,
// as a real timer would fire on its own goroutine).
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
		var due *fakeTimer
		for len(c.timers) > 0 {
			t := c.timers[0]
			if t.stopped {
				c.timers = c.timers[1:]
				continue
			}
			if !t.at.After(end) {
				due, c.timers = t, c.timers[1:]
				due.stopped = true
				c.now = t.at
			}
			break
		}
		if due == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		due.f()
	}
}

// pending counts timers armed and not yet fired or stopped.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped {
			n++
		}
	}
	return n
}

// env is one test's world: a real SQLite store, a fake clock, a manager.
type env struct {
	t      *testing.T
	path   string
	store  *sqlite.Store
	clock  *fakeClock
	policy sessions.Policy
	logs   *testterm.Buffer
	mgr    *sessions.Manager
}

var (
	alice = sessions.User{Name: "alice"}
	bob   = sessions.User{Name: "bob"}
)

// testPolicy switches every timed rule off; tests turn on what they need.
func testPolicy() sessions.Policy {
	p := sessions.DefaultPolicy()
	p.IdleTimeout, p.HibernateAfter, p.DetachedTTL, p.MaxSessionAge = 0, 0, 0, 0
	return p
}

func newEnv(t *testing.T, p sessions.Policy) *env {
	t.Helper()
	e := &env{t: t, path: filepath.Join(t.TempDir(), "termhost.db"), clock: newFakeClock(), policy: p, logs: &testterm.Buffer{}}
	e.openStore()
	e.mgr = e.newManager()
	return e
}

func (e *env) openStore() {
	e.t.Helper()
	st, err := sqlite.Open(context.Background(), e.path)
	if err != nil {
		e.t.Fatalf("sqlite.Open: %v", err)
	}
	e.store = st
	e.t.Cleanup(func() { st.Close() })
}

// newManager returns a manager on the env's store (node "n1"), shut down
// at cleanup. The sweeper is not started: tests call Sweep.
func (e *env) newManager() *sessions.Manager { return e.managerOn(e.store) }

// managerOn is newManager on another view of the store.
func (e *env) managerOn(st sessions.Store) *sessions.Manager {
	m := sessions.NewManager(sessions.Config{Store: st, Clock: e.clock, Policy: e.policy, Node: "n1",
		Registry: apps.Registry(), Log: slog.New(slog.NewTextHandler(e.logs, nil))})
	e.t.Cleanup(func() { m.Shutdown(context.Background(), "test over") })
	return m
}

// client is one connection served by the manager, seen through a screen.
type client struct {
	t    *testing.T
	scr  *testterm.Screen
	conn net.Conn // the user's end
	done chan error
}

func info(remote string, w, h int) sessions.ClientInfo {
	return sessions.ClientInfo{Transport: "ssh", Remote: remote, Term: "xterm-256color", Width: w, Height: h}
}

// serve runs mgr.Serve on an in-memory connection until the client leaves.
func (e *env) serve(m *sessions.Manager, u sessions.User, ci sessions.ClientInfo, args ...string) *client {
	e.t.Helper()
	userEnd, serverEnd := net.Pipe()
	c := &client{t: e.t, scr: testterm.New(ci.Width, ci.Height, testterm.CRLF()), conn: userEnd, done: make(chan error, 1)}
	c.scr.Pipe(userEnd)
	go func() { c.done <- m.Serve(context.Background(), serverEnd, ci, u, args) }()
	e.t.Cleanup(func() {
		userEnd.Close()
		c.waitDone()
		c.scr.Close()
	})
	return c
}

// attach serves alice at 80×24 and waits for the workspace and for the
// attach to be recorded.
func (e *env) attach(args ...string) *client {
	e.t.Helper()
	c := e.serve(e.mgr, alice, info("10.0.0.1:1001", 80, 24), args...)
	c.waitFor(" alice · ")
	e.settle(e.mgr, "10.0.0.1:1001")
	return c
}

// settle waits until the attach of the client from remote is in the
// store: its history event is written after the record, outside the
// session's lock, so a test acting on the session must not race it.
func (e *env) settle(m *sessions.Manager, remote string) {
	e.t.Helper()
	waitFor(e.t, "the attach to be recorded", func() bool {
		infos, _ := m.List(context.Background(), "", "")
		for _, in := range infos {
			for _, c := range in.Clients {
				if c.Remote != remote {
					continue
				}
				_, events, _ := m.Show(context.Background(), in.ID)
				return len(events) > 0 && events[len(events)-1].Kind == "attached"
			}
		}
		return false
	})
}

func (c *client) send(s string) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("send %.40q (%d bytes): %v", s, len(s), err)
	}
}

func (c *client) waitFor(s string) string {
	c.t.Helper()
	return c.scr.WaitFor(c.t, s, wait)
}

// waitDone waits for Serve to return and gives its error.
func (c *client) waitDone() error {
	c.t.Helper()
	select {
	case err := <-c.done:
		c.done <- err // later callers (cleanup) see it too
		return err
	case <-time.After(wait):
		c.t.Fatalf("Serve did not return; screen:\n%s", c.scr.Text())
		return nil
	}
}

// only returns the single live-or-stored session of u.
func (e *env) only(u sessions.User) sessions.Info {
	e.t.Helper()
	infos, err := e.mgr.List(context.Background(), u.Name, "")
	if err != nil || len(infos) != 1 {
		e.t.Fatalf("List(%s) = %d sessions, %v; want 1", u.Name, len(infos), err)
	}
	return infos[0]
}

func (e *env) record(id string) persist.Session {
	e.t.Helper()
	r, err := e.store.GetSession(context.Background(), id)
	if err != nil {
		e.t.Fatalf("GetSession(%s): %v", id, err)
	}
	return r
}

func (e *env) snapshots(id string) []persist.Snapshot {
	e.t.Helper()
	snaps, err := e.store.Snapshots(context.Background(), id)
	if err != nil {
		e.t.Fatalf("Snapshots(%s): %v", id, err)
	}
	return snaps
}

// kinds lists the kinds of a session's history events.
func (e *env) kinds(m *sessions.Manager, id string) []string {
	e.t.Helper()
	_, events, err := m.Show(context.Background(), id)
	if err != nil {
		e.t.Fatalf("Show(%s): %v", id, err)
	}
	out := make([]string, 0, len(events))
	for _, ev := range events {
		out = append(out, ev.Kind)
	}
	return out
}

// stubConn is a Conn made of a reader and a writer, for odd clients.
type stubConn struct {
	io.Reader
	io.Writer
	closeOnce sync.Once
	closed    chan struct{}
}

func newStubConn(r io.Reader, w io.Writer) *stubConn {
	return &stubConn{Reader: r, Writer: w, closed: make(chan struct{})}
}

func (c *stubConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

// stallWriter blocks every Write until closed, like a client that stopped
// reading with a full TCP window.
type stallWriter struct{ closed <-chan struct{} }

func (w stallWriter) Write(p []byte) (int, error) {
	<-w.closed
	return 0, errors.New("stalled client closed")
}

func ioPipe() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }

// eofReader is input that has already ended.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// screen is a terminal for a Conn the test builds itself.
func screen(t *testing.T) *testterm.Screen {
	s := testterm.New(80, 24, testterm.CRLF())
	t.Cleanup(func() { s.Close() })
	return s
}

// waitFor polls cond until it holds or the wait bound passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(wait)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
