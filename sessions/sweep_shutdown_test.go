package sessions_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"termhost/persist"
	"termhost/persist/sqlite"
	"termhost/sessions"
	"termhost/tui/apps"
)

// stuckLeases is the real store whose lease lookups wait until their
// context ends, like a sweep retiring a dead node's 100,000 sessions one
// by one: the sweep is in progress for as long as the test wants.
type stuckLeases struct {
	*sqlite.Store
	once    sync.Once
	entered chan struct{}
}

func (s *stuckLeases) GetLease(ctx context.Context, id string) (persist.Lease, error) {
	s.once.Do(func() { close(s.entered) })
	<-ctx.Done()
	return persist.Lease{}, ctx.Err()
}

// Shutdown does not wait for a sweep in progress: the sweeper's store
// calls use the background loops' context, which Shutdown cancels (a node
// retiring a dead node's many sessions did not stop on SIGTERM).
func TestShutdownCancelsASweep(t *testing.T) {
	p := testPolicy()
	p.DetachedTTL = 800 * time.Millisecond // the sweeper ticks every 100 ms
	e := newEnv(t, p)
	const ttl = 300 * time.Millisecond
	a := e.node("a", ttl, false) // never renews: its session becomes an orphan
	c := e.serve(a, alice, info("10.0.0.1:1001", 80, 24))
	c.waitFor(" alice · ")

	st, err := sqlite.Open(context.Background(), e.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	stuck := &stuckLeases{Store: st, entered: make(chan struct{})}
	p.LeaseTTL = ttl
	b := sessions.NewManager(sessions.Config{Store: stuck, Clock: e.clock, Policy: p, Node: "b",
		Registry: apps.Registry(), Log: slog.New(slog.NewTextHandler(e.logs, nil))})
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stuck.entered: // two TTLs of b's own renewals, then the orphan's lease is looked up
	case <-time.After(wait):
		b.Shutdown(context.Background(), "test over")
		t.Fatal("the sweeper never looked at the orphaned session")
	}
	done := make(chan struct{})
	go func() {
		b.Shutdown(context.Background(), "test over")
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Shutdown waited for the sweep in progress")
	}
}

// TestShutdownSaysStopped: a node's last heartbeat, after its sessions
// are hibernated, marks it stopped, so `nodes list` says so at once.
func TestShutdownSaysStopped(t *testing.T) {
	e := newEnv(t, testPolicy())
	c := e.attach()
	c.send("kept")
	c.waitFor("kept")
	e.mgr.Shutdown(context.Background(), "restart")
	nodes, err := e.store.ListNodes(t.Context())
	if err != nil || len(nodes) != 1 || !nodes[0].Stopped || !nodes[0].Draining {
		t.Fatalf("nodes after Shutdown: %+v (%v), want one, stopped", nodes, err)
	}
	if s := e.only(alice); s.State != persist.StateHibernated {
		t.Errorf("session after Shutdown: %s, want hibernated before the node says stopped", s.State)
	}
}
