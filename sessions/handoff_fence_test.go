package sessions

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"termhost/persist"
	"termhost/persist/sqlite"
	"termhost/tui/apps"
)

// recordConn is a terminal that reads nothing and keeps what it was sent.
type recordConn struct {
	mu  sync.Mutex
	out strings.Builder
}

func (c *recordConn) Read([]byte) (int, error) { return 0, io.EOF }
func (c *recordConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}
func (c *recordConn) Close() error { return nil }
func (c *recordConn) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

// A hand-off request met after the lease was taken (the node was paused
// past its lease and a wake-up came before its next renewal: found by
// TestClusterSplitBrainStopCont) stops the session as self-fencing does:
// its clients are told it moved, not that it was handed over, and the node
// writes nothing and releases nothing.
func TestHandOffAfterLeaseLostFences(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fence.db")
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	const ttl = 100 * time.Millisecond
	m := NewManager(Config{Store: store, Clock: propClock{propTime}, Registry: apps.Registry(), Node: "a",
		Policy: Policy{LeaseTTL: ttl, FlushDelay: time.Hour}})
	s, err := m.Create(ctx, User{Name: "sam"}, "moved")
	if err != nil {
		t.Fatal(err)
	}
	conn := &recordConn{}
	c := newClient(conn, ClientInfo{Term: "xterm-256color", Width: 80, Height: 24, Transport: "ssh"}, propTime)
	if err := s.attach(c, false); err != nil {
		t.Fatal(err)
	}
	gens, _ := store.Snapshots(ctx, s.ID())

	time.Sleep(2 * ttl) // a stops renewing (paused)
	b := persist.Owner{Node: "b", Boot: "b-boot"}
	stolen, err := store.AcquireLease(ctx, s.ID(), b, time.Minute)
	if err != nil {
		t.Fatalf("b takes the expired lease: %v", err)
	}

	m.handOff(ctx, s, persist.Request{Node: "a", Kind: persist.RequestHandoff, SessionID: s.ID(), Remote: "10.0.0.2:2", Detail: "b"})
	<-c.out.done
	if out := conn.String(); !strings.Contains(out, MovedAway) || strings.Contains(out, "attached from") {
		t.Errorf("the client was told %q, want %q", out[max(0, len(out)-120):], MovedAway)
	}
	if m.liveSession(s.ID()) != nil {
		t.Error("the session is still live on the node that lost it")
	}
	if l, err := store.GetLease(ctx, s.ID()); err != nil || l.Owner != b || l.Epoch != stolen.Epoch {
		t.Errorf("lease after the late hand-off: %+v, %v; want b's at epoch %d", l, err, stolen.Epoch)
	}
	if after, _ := store.Snapshots(ctx, s.ID()); len(after) != len(gens) {
		t.Errorf("the node that lost the lease wrote %d snapshot(s)", len(after)-len(gens))
	}
}
