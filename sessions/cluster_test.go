package sessions_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"termhost/persist"
	"termhost/persist/sqlite"
	"termhost/sessions"
	"termhost/tui/apps"
)

// Two nodes, one store (SPEC §6): each node is a Manager on its own handle
// of the env's SQLite file; SQLite's notifier reaches every handle of one
// file in the process, as NOTIFY reaches every node of a PostgreSQL
// cluster. The clock of leases is the store's (real time); the managers'
// fake clock only drives debounce and policy.

// node starts a manager named id on a second handle of e's store.
func (e *env) node(id string, ttl time.Duration, start bool) *sessions.Manager {
	e.t.Helper()
	st, err := sqlite.Open(context.Background(), e.path)
	if err != nil {
		e.t.Fatalf("sqlite.Open: %v", err)
	}
	e.t.Cleanup(func() { st.Close() })
	p := e.policy
	p.LeaseTTL = ttl
	m := sessions.NewManager(sessions.Config{Store: st, Clock: e.clock, Policy: p, Node: id,
		Registry: apps.Registry(), Log: slog.New(slog.NewTextHandler(e.logs, nil))})
	e.t.Cleanup(func() { m.Shutdown(context.Background(), "test over") })
	if start {
		if err := m.Start(context.Background()); err != nil {
			e.t.Fatalf("Start %s: %v", id, err)
		}
	}
	return m
}

// flushAll makes the debounced snapshot writes happen.
func (e *env) flushAll() {
	for range 3 {
		e.clock.Advance(time.Second)
	}
}

func TestHandOffToAnotherNode(t *testing.T) {
	e := newEnv(t, testPolicy())
	a, b := e.node("a", 10*time.Second, true), e.node("b", 10*time.Second, true)

	c1 := e.serve(a, alice, info("10.0.0.1:1001", 80, 24))
	c1.waitFor(" alice · ")
	c1.send("typed on a")
	c1.waitFor("typed on a")
	id := e.only(alice).ID
	before := e.record(id)

	start := time.Now()
	c2 := e.serve(b, alice, info("10.0.0.2:2002", 80, 24))
	c2.waitFor("typed on a") // unsaved text crossed with the hand-off
	t.Logf("hand-off to first frame: %s", time.Since(start))
	c1.waitFor("session attached from 10.0.0.2:2002 on node b")
	if err := c1.waitDone(); err != nil {
		t.Errorf("the old client's Serve: %v", err)
	}

	after := e.record(id)
	if after.Node != "b" || after.Epoch <= before.Epoch {
		t.Errorf("record after the hand-off: node %q epoch %d; want node b, epoch > %d", after.Node, after.Epoch, before.Epoch)
	}
	kinds := e.kinds(b, id)
	if !slices.Contains(kinds, "handoff") {
		t.Errorf("history %v has no handoff", kinds)
	}

	// The new node serves it: keys go on working there.
	c2.send(" then b")
	c2.waitFor("typed on a then b")
	// Listings from either node name b as the owner and show the client.
	for _, m := range []*sessions.Manager{a, b} {
		waitFor(t, "the listing to follow", func() bool {
			infos, err := m.List(context.Background(), "", "")
			return err == nil && len(infos) == 1 && infos[0].Node == "b" && len(infos[0].Clients) == 1 && infos[0].Clients[0].Remote == "10.0.0.2:2002"
		})
	}
}

func TestAdminVerbsFromAnotherNode(t *testing.T) {
	e := newEnv(t, testPolicy())
	a, b := e.node("a", 10*time.Second, true), e.node("b", 10*time.Second, true)
	c1 := e.serve(a, alice, info("10.0.0.1:1001", 80, 24))
	c1.waitFor(" alice · ")
	id := e.only(alice).ID
	e.settle(a, "10.0.0.1:1001")

	if n, err := b.Message(context.Background(), id, "root", "hello from b"); err != nil || n != 1 {
		t.Fatalf("Message from b = %d, %v", n, err)
	}
	c1.waitFor("message from root: hello from b")
	// To everyone: counted with the other node's sessions (newcomer trial:
	// "delivered to 0 session(s)" while a's user got it).
	if n, err := b.Message(context.Background(), "", "root", "hello all"); err != nil || n != 1 {
		t.Fatalf("Message --all from b = %d, %v; want 1 (a's session)", n, err)
	}
	c1.waitFor("message from root: hello all")

	if err := b.Kill(context.Background(), id, "root"); err != nil {
		t.Fatalf("Kill from b: %v", err)
	}
	c1.waitFor("ended: killed by root")
	if r := e.record(id); r.State != persist.StateEnded {
		t.Errorf("state after kill from b = %q", r.State)
	}
}

func TestChatCrossesNodes(t *testing.T) {
	e := newEnv(t, testPolicy())
	a, b := e.node("a", 10*time.Second, true), e.node("b", 10*time.Second, true)
	ca := e.serve(a, alice, info("10.0.0.1:1001", 80, 24))
	cb := e.serve(b, bob, info("10.0.0.2:2002", 80, 24))
	for _, c := range []*client{ca, cb} {
		c.waitFor(" · ")
		c.send("\x02c3") // a Chat tab
		c.waitFor("#lobby")
	}
	ca.send("hello from node a\r")
	cb.waitFor("alice: hello from node a")
	cb.send("and back from b\r")
	ca.waitFor("bob: and back from b")
}

// pausedOwner starts node a, which never renews (paused, cut off, dead),
// and node b, both with lease ttl; alice types text into a session on a,
// flushed to the store. c1 is alice's client on a.
func pausedOwner(t *testing.T, ttl time.Duration, text string) (e *env, a, b *sessions.Manager, c1 *client) {
	t.Helper()
	e = newEnv(t, testPolicy())
	a = e.node("a", ttl, false)
	b = e.node("b", ttl, true)
	c1 = e.serve(a, alice, info("10.0.0.1:1001", 80, 24))
	c1.waitFor(" alice · ")
	c1.send(text)
	c1.waitFor(text)
	e.flushAll()
	return e, a, b, c1
}

// A node that stops renewing (paused, cut off) loses its sessions to the
// node that attaches after the lease expired; when it comes back it
// fences them at its first renewal and writes nothing more (SPEC §6).
func TestLeaseLostFencesTheOldOwner(t *testing.T) {
	const ttl = 300 * time.Millisecond
	e, a, b, c1 := pausedOwner(t, ttl, "before the pause")
	id := e.only(alice).ID
	old := e.record(id).Epoch

	start := time.Now()
	c2 := e.serve(b, alice, info("10.0.0.2:2002", 80, 24))
	c2.waitFor("before the pause")
	took := time.Since(start)
	t.Logf("taken after the owner stopped renewing: %s (ttl %s)", took, ttl)
	if r := e.record(id); r.Node != "b" || r.Epoch <= old {
		t.Fatalf("after the steal: node %q epoch %d (old %d)", r.Node, r.Epoch, old)
	}

	// The old owner still has the session in memory; its user types on.
	c1.send(" typed into a stale node")
	c1.waitFor("typed into a stale node")
	e.flushAll()
	// It resumes: the first renewal finds the lease gone and fences.
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c1.waitFor(sessions.MovedAway)
	e.flushAll()
	for _, s := range e.snapshots(id) {
		payload, err := persist.Open(s.Data)
		if err != nil {
			t.Fatalf("generation %d: %v", s.Gen, err)
		}
		if strings.Contains(string(payload), "stale") {
			t.Errorf("generation %d of the old epoch holds text typed after the steal", s.Gen)
		}
	}
	c2.send("!")
	c2.waitFor("before the pause!")
}

// An attach that must wait for a dead owner's lease says why instead of
// showing nothing, then shows the workspace once the lease ran out.
func TestAttachWaitingForDeadOwnerSaysWhy(t *testing.T) {
	e, _, b, _ := pausedOwner(t, 2*time.Second, "typed on a")
	c2 := e.serve(b, alice, info("10.0.0.2:2002", 80, 24))
	c2.waitFor("waiting for node a, which runs this session")
	if screen := c2.waitFor("typed on a"); strings.Contains(screen, "waiting for node") {
		t.Errorf("the note stayed on the workspace:\n%s", screen)
	}
}

// A node judges other nodes dead only after renewing without a break for
// two lease TTLs itself: right after an outage of the store every node's
// heartbeat looks stale (attack trial: a sweeper that came back first
// retired a live node's attached sessions and lost its users' typing).
func TestOrphanSweepWaitsTwoTTLsOfItsOwn(t *testing.T) {
	e := newEnv(t, testPolicy())
	const ttl = 300 * time.Millisecond
	a := e.node("a", ttl, false) // its session's node never heartbeats
	c1 := e.serve(a, alice, info("10.0.0.1:1001", 80, 24))
	c1.waitFor(" alice · ")
	id := e.only(alice).ID
	time.Sleep(ttl) // a's lease has expired: a looks dead
	b := e.node("b", ttl, true)
	b.Sweep(context.Background())
	if r := e.record(id); r.State == persist.StateHibernated || r.Node != "a" {
		t.Fatalf("a node that just started (or came back) retired another node's session: %+v", r)
	}
	waitFor(t, "the session of the dead node to be retired", func() bool {
		b.Sweep(context.Background())
		return e.record(id).State == persist.StateHibernated
	})
}
