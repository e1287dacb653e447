package sessions_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"termhost/persist"
)

// Workspace changes reach the store FlushDelay after the first change,
// and not before.
func TestSnapshotDebounce(t *testing.T) {
	p := testPolicy()
	p.FlushDelay = 150 * time.Millisecond
	e := newEnv(t, p)
	c := e.attach()
	id := e.only(alice).ID
	if n := len(e.snapshots(id)); n != 0 {
		t.Fatalf("%d snapshots before any time passed, want 0", n)
	}
	e.clock.Advance(p.FlushDelay)
	if n := len(e.snapshots(id)); n != 1 {
		t.Fatalf("%d snapshots after FlushDelay, want 1 (the new session)", n)
	}

	c.send("a")
	// Not waitFor("a"): " alice" in the status bar matches before the key
	// is handled, and the clock must not move until it is.
	c.scr.WaitUntil(t, "a typed", wait, func(string) bool { x, _ := c.scr.Cursor(); return x == 1 })
	e.clock.Advance(p.FlushDelay / 2)
	c.send("b") // a later change does not push the write back
	c.waitFor("ab")
	e.clock.Advance(p.FlushDelay/2 - time.Millisecond)
	if n := len(e.snapshots(id)); n != 1 {
		t.Fatalf("%d snapshots 1ms before the flush is due, want still 1", n)
	}
	e.clock.Advance(time.Millisecond)
	snaps := e.snapshots(id)
	if len(snaps) != 2 {
		t.Fatalf("%d snapshots after the flush, want 2", len(snaps))
	}
	payload, err := persist.Open(snaps[0].Data)
	if err != nil {
		t.Fatalf("newest snapshot does not open: %v", err)
	}
	if !strings.Contains(string(payload), `"body":"ab"`) {
		t.Errorf("newest snapshot = %s, want the body \"ab\"", payload)
	}
	if e.clock.pending() != 0 {
		t.Errorf("%d timers armed with nothing to write, want 0", e.clock.pending())
	}
	// Moving the cursor changes the workspace too.
	c.send("\x1b[D")
	c.scr.WaitUntil(t, "cursor left", wait, func(string) bool { x, _ := c.scr.Cursor(); return x == 1 })
	e.clock.Advance(p.FlushDelay)
	if n := len(e.snapshots(id)); n != 3 {
		t.Errorf("%d snapshots after a cursor move, want 3", n)
	}
}

// A corrupt newest generation is reported and the previous one restored.
func TestCorruptSnapshotFallsBack(t *testing.T) {
	e := newEnv(t, testPolicy())
	c := e.attach()
	id := e.only(alice).ID
	c.send("older")
	c.waitFor("older")
	e.clock.Advance(e.policy.FlushDelay)
	c.send(" newer")
	c.waitFor("older newer")
	e.clock.Advance(e.policy.FlushDelay)
	c.send("\x02d")
	c.waitDone()
	e.mgr.Shutdown(context.Background(), "restart")
	if n := len(e.snapshots(id)); n < 2 {
		t.Fatalf("%d generations, want ≥ 2", n)
	}

	res, err := e.store.DB().ExecContext(context.Background(),
		`UPDATE snapshots SET data = substr(data, 1, length(data) - 3) WHERE session_id = ? AND gen = (SELECT MAX(gen) FROM snapshots WHERE session_id = ?)`, id, id)
	if n, _ := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("corrupting the newest generation: %v (%d rows)", err, n)
	}

	m2 := e.newManager()
	if err := m2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c2 := e.serve(m2, alice, info("10.0.0.1:1001", 80, 24))
	c2.waitFor("older")
	if strings.Contains(c2.scr.Text(), "newer") {
		t.Errorf("the corrupt generation was loaded:\n%s", c2.scr.Text())
	}
	if logs := e.logs.String(); !strings.Contains(logs, "snapshot generations unreadable; restored an older one") || !strings.Contains(logs, "corrupt snapshot") {
		t.Errorf("no error logged for the corrupt generation; logs:\n%s", logs)
	}
	if got := strings.Join(e.kinds(m2, id), ","); !strings.Contains(got, "restored") {
		t.Errorf("history = %s, want a restored event", got)
	}
}

// Every generation unreadable: the session starts empty, loudly.
func TestAllSnapshotsCorrupt(t *testing.T) {
	e := newEnv(t, testPolicy())
	c := e.attach()
	id := e.only(alice).ID
	c.send("lost")
	c.waitFor("lost")
	e.clock.Advance(e.policy.FlushDelay)
	c.send("\x02d")
	c.waitDone()
	e.mgr.Shutdown(context.Background(), "restart")
	if _, err := e.store.DB().ExecContext(context.Background(), `UPDATE snapshots SET data = x'00' WHERE session_id = ?`, id); err != nil {
		t.Fatal(err)
	}
	m2 := e.newManager()
	c2 := e.serve(m2, alice, info("10.0.0.1:1001", 80, 24))
	c2.waitFor(" alice · 1")
	if !strings.Contains(e.logs.String(), "no readable snapshot") {
		t.Errorf("logs do not report the unreadable session:\n%s", e.logs.String())
	}
}

// A graceful shutdown tells clients why, leaves sessions hibernated, and a
// new process on the same database file restores them.
func TestRestartRestoresWorkspace(t *testing.T) {
	e := newEnv(t, testPolicy())
	c := e.attach()
	id := e.only(alice).ID
	c.send("survives restarts")
	c.waitFor("survives restarts")
	e.mgr.Shutdown(context.Background(), "[server shutting down]")
	c.waitDone()
	c.waitFor("[server shutting down]")
	if r := e.record(id); r.State != persist.StateHibernated {
		t.Fatalf("state after shutdown = %s, want hibernated", r.State)
	}
	e.mgr.Shutdown(context.Background(), "again") // idempotent
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}

	e.openStore()
	m2 := e.newManager()
	if err := m2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c2 := e.serve(m2, alice, info("10.0.0.1:1001", 80, 24))
	c2.waitFor("survives restarts")
	if x, y := c2.scr.Cursor(); x != len("survives restarts") || y != 1 {
		t.Errorf("cursor after restart = (%d,%d), want (%d,1)", x, y, len("survives restarts"))
	}
}

// After a crash (no Shutdown) Start marks the node's sessions hibernated;
// what was flushed survives, what was not is at most FlushDelay of typing.
func TestCrashRecovery(t *testing.T) {
	e := newEnv(t, testPolicy())
	c := e.attach()
	id := e.only(alice).ID
	c.send("flushed")
	c.waitFor("flushed")
	e.clock.Advance(e.policy.FlushDelay)
	c.send(" unflushed")
	c.waitFor("flushed unflushed")
	// The old manager is abandoned as if killed; a new one starts.
	m2 := e.newManager()
	if err := m2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := e.record(id)
	if r.State != persist.StateHibernated || r.DetachedAt.IsZero() {
		t.Fatalf("after Start: state %s, detached_at %v; want hibernated with a detach time", r.State, r.DetachedAt)
	}
	_, events, _ := m2.Show(context.Background(), id)
	if last := events[len(events)-1]; last.Kind != "hibernated" || last.Detail != "server restarted" {
		t.Errorf("last event = %+v, want hibernated: server restarted", last)
	}
	c2 := e.serve(m2, alice, info("10.0.0.5:1005", 80, 24))
	c2.waitFor("flushed")
	if strings.Contains(c2.scr.Text(), "unflushed") {
		t.Errorf("text typed after the last flush came back; the test's crash is not a crash")
	}
}
