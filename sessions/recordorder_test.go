package sessions_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"termhost/persist"
	"termhost/sessions"
)

// gatedStore holds the first write of an "attached" record until released,
// to line up a concurrent state change deterministically.
type gatedStore struct {
	sessions.Store
	armed   atomic.Bool
	held    chan struct{} // closed when the write is held
	release chan struct{}
	once    sync.Once
}

func (g *gatedStore) UpdateSession(ctx context.Context, r persist.Session) error {
	if g.armed.Load() && r.State == persist.StateAttached {
		g.once.Do(func() {
			close(g.held)
			<-g.release
		})
	}
	return g.Store.UpdateSession(ctx, r)
}

// A state change that lands while an attach is still writing its record
// must not be overwritten by the attach's older view of the session
// (regression: a killed session was stored as attached and came back
// after a restart).
func TestRecordWritesStayOrdered(t *testing.T) {
	e := newEnv(t, testPolicy())
	g := &gatedStore{Store: e.store, held: make(chan struct{}), release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(g.release) }) }
	// Registered after newEnv's cleanups, so it runs first: a failing
	// assertion must not leave the held write (and the test) hanging.
	t.Cleanup(release)
	m := e.managerOn(g)
	s, err := m.Create(context.Background(), alice, "")
	if err != nil {
		t.Fatal(err)
	}
	g.armed.Store(true)
	c := e.serve(m, alice, info("10.0.0.1:1001", 80, 24))
	<-g.held // the attach has drawn and is writing its record
	killed := make(chan error, 1)
	go func() { killed <- m.Kill(context.Background(), s.ID(), "root") }()
	c.waitFor("[session 1 ended: killed by root]") // the kill is past its state change
	release()
	if err := <-killed; err != nil {
		t.Fatal(err)
	}
	c.waitDone()
	waitFor(t, "the attach's late writes", func() bool {
		_, events, _ := m.Show(context.Background(), s.ID())
		for _, ev := range events {
			if ev.Kind == "attached" {
				return true
			}
		}
		return false
	})
	if r := e.record(s.ID()); r.State != persist.StateEnded {
		t.Errorf("stored state = %s after kill, want ended", r.State)
	}
	if kinds := e.kinds(m, s.ID()); kinds[len(kinds)-1] != "ended" {
		t.Errorf("history = %v, want ended last", kinds)
	}
}
