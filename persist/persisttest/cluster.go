package persisttest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"termhost/persist"
)

// The cluster contract (SPEC §6), run on two handles a and b of one store:
// two nodes on one database. Expiry is judged by the store's clock, which
// the suite cannot move, so expiry cases use a short ttl and poll (bounded).

var (
	ownerA  = persist.Owner{Node: "node-a", Boot: "boot-a1"}
	ownerA2 = persist.Owner{Node: "node-a", Boot: "boot-a2"} // node-a restarted
	ownerB  = persist.Owner{Node: "node-b", Boot: "boot-b1"}
)

const (
	longTTL  = time.Hour
	shortTTL = 250 * time.Millisecond
	// pollFor bounds every wait for the store clock or a wake-up.
	pollFor = 10 * time.Second
)

// liveSession creates a session through s and returns it.
func liveSession(t *testing.T, s persist.Store, owner, name string) persist.Session {
	t.Helper()
	r := newSession(owner, name)
	noErr(t, s.CreateSession(t.Context(), r, 0), "CreateSession "+owner+"/"+name)
	return r
}

// acquireAfterExpiry polls AcquireLease by o until the current holder's
// lease has expired by the store's clock; any answer other than
// ErrLeaseHeld ends the wait.
func acquireAfterExpiry(t *testing.T, s persist.Store, id string, o persist.Owner, ttl time.Duration) persist.Lease {
	t.Helper()
	deadline := time.Now().Add(pollFor)
	for {
		l, err := s.AcquireLease(t.Context(), id, o, ttl)
		if err == nil {
			return l
		}
		if !errors.Is(err, persist.ErrLeaseHeld) || time.Now().After(deadline) {
			t.Fatalf("AcquireLease(%s) by %s after expiry: %v", id, o, err)
		}
		time.Sleep(10 * time.Millisecond) // the store's clock has to move; nothing to await
	}
}

func checkLease(t *testing.T, what string, got persist.Lease, id string, o persist.Owner, epoch int64) {
	t.Helper()
	if got.SessionID != id || got.Owner != o || got.Epoch != epoch {
		t.Fatalf("%s: lease = %+v, want session %s owner %s epoch %d", what, got, id, o, epoch)
	}
	if o.IsZero() != got.Expires.IsZero() {
		t.Fatalf("%s: lease expires %v with owner %q (zero exactly when released)", what, got.Expires, o)
	}
}

func testLeases(t *testing.T, pair pairOpener) {
	t.Run("AcquireNewRenewRefuse", func(t *testing.T) {
		a, b := pair(t)
		ctx := t.Context()
		r := liveSession(t, a, "alice", "work")
		l, err := a.AcquireLease(ctx, r.ID, ownerA, longTTL)
		noErr(t, err, "AcquireLease on a new session")
		checkLease(t, "first acquire", l, r.ID, ownerA, r.Epoch+1)
		epoch := l.Epoch

		// Both handles see it: the lease and the record's Node.
		got, err := b.GetLease(ctx, r.ID)
		noErr(t, err, "GetLease through b")
		checkLease(t, "GetLease through b", got, r.ID, ownerA, epoch)
		rec, err := b.GetSession(ctx, r.ID)
		noErr(t, err, "GetSession through b")
		if rec.Node != ownerA.Node || rec.Epoch != epoch {
			t.Fatalf("record after acquire: node %q epoch %d, want %q %d", rec.Node, rec.Epoch, ownerA.Node, epoch)
		}

		again, err := a.AcquireLease(ctx, r.ID, ownerA, longTTL)
		noErr(t, err, "AcquireLease again by the holder")
		checkLease(t, "re-acquire by the holder", again, r.ID, ownerA, epoch)
		if again.Expires.Before(l.Expires) {
			t.Errorf("re-acquire moved expiry back: %v → %v", l.Expires, again.Expires)
		}
		renewed, err := a.RenewLeases(ctx, ownerA, longTTL)
		noErr(t, err, "RenewLeases")
		if len(renewed) != 1 {
			t.Fatalf("RenewLeases = %+v, want the one lease", renewed)
		}
		checkLease(t, "renewed", renewed[0], r.ID, ownerA, epoch)

		for _, o := range []persist.Owner{ownerB, ownerA2} {
			held, err := b.AcquireLease(ctx, r.ID, o, longTTL)
			wantErr(t, err, persist.ErrLeaseHeld, "AcquireLease by "+o.String()+" while held")
			checkLease(t, "holder returned to "+o.String(), held, r.ID, ownerA, epoch)
		}
	})

	t.Run("UnknownSession", func(t *testing.T) {
		a, _ := pair(t)
		ctx := t.Context()
		id := newID()
		_, err := a.AcquireLease(ctx, id, ownerA, longTTL)
		wantErr(t, err, persist.ErrNotFound, "AcquireLease of an unknown id")
		_, err = a.GetLease(ctx, id)
		wantErr(t, err, persist.ErrNotFound, "GetLease of an unknown id")
		wantErr(t, a.ReleaseLease(ctx, id, persist.Fence{Node: ownerA.Node, Epoch: 1}), persist.ErrNotFound, "ReleaseLease of an unknown id")
	})

	t.Run("ExpiryStealFences", func(t *testing.T) {
		a, b := pair(t)
		ctx := t.Context()
		r := liveSession(t, a, "alice", "work")
		start := time.Now()
		old, err := a.AcquireLease(ctx, r.ID, ownerA, shortTTL)
		noErr(t, err, "AcquireLease by a")
		oldFence := persist.Fence{Node: ownerA.Node, Epoch: old.Epoch}
		_, err = a.PutSnapshot(ctx, r.ID, oldFence, []byte("by a"))
		noErr(t, err, "PutSnapshot by the holder")

		stolen := acquireAfterExpiry(t, b, r.ID, ownerB, longTTL)
		if waited := time.Since(start); waited < shortTTL-10*time.Millisecond {
			t.Fatalf("b took the lease %v after a acquired it for %v: expiry came early", waited, shortTTL)
		}
		checkLease(t, "steal after expiry", stolen, r.ID, ownerB, old.Epoch+1)

		// The old owner is fenced off everywhere.
		stale := r
		stale.Epoch, stale.State = old.Epoch, persist.StateDetached
		wantErr(t, a.UpdateSession(ctx, stale), persist.ErrLeaseLost, "UpdateSession by the old owner")
		_, err = a.PutSnapshot(ctx, r.ID, oldFence, []byte("late write by a"))
		wantErr(t, err, persist.ErrLeaseLost, "PutSnapshot by the old owner")
		wantErr(t, a.ReleaseLease(ctx, r.ID, oldFence), persist.ErrLeaseLost, "ReleaseLease by the old owner")
		mine, err := a.RenewLeases(ctx, ownerA, longTTL)
		noErr(t, err, "RenewLeases by the old owner")
		if len(mine) != 0 {
			t.Fatalf("old owner renewed %+v after the steal", mine)
		}
		cur, err := a.GetLease(ctx, r.ID)
		noErr(t, err, "GetLease")
		checkLease(t, "after the old owner's attempts", cur, r.ID, ownerB, stolen.Epoch)
		snaps, err := b.Snapshots(ctx, r.ID)
		noErr(t, err, "Snapshots")
		if len(snaps) != 1 || string(snaps[0].Data) != "by a" {
			t.Fatalf("snapshots after the steal = %+v; want only a's write before it", snaps)
		}

		// The new owner writes; the record's Node is b's.
		w := r
		w.Epoch, w.State = stolen.Epoch, persist.StateDetached
		noErr(t, b.UpdateSession(ctx, w), "UpdateSession by the new owner")
		_, err = b.PutSnapshot(ctx, r.ID, persist.Fence{Node: ownerB.Node, Epoch: stolen.Epoch}, []byte("by b"))
		noErr(t, err, "PutSnapshot by the new owner")
		rec, err := a.GetSession(ctx, r.ID)
		noErr(t, err, "GetSession")
		if rec.Node != ownerB.Node || rec.Epoch != stolen.Epoch || rec.State != persist.StateDetached {
			t.Fatalf("record = node %q epoch %d state %q, want %q %d detached", rec.Node, rec.Epoch, rec.State, ownerB.Node, stolen.Epoch)
		}
	})

	t.Run("ExpiredButUntakenStaysOwn", func(t *testing.T) {
		// A holder whose lease lapsed keeps it (and its epoch) as long as
		// nobody took it: renewal and re-acquire both revive it.
		a, b := pair(t)
		ctx := t.Context()
		r1 := liveSession(t, a, "alice", "one")
		r2 := liveSession(t, a, "alice", "two")
		l1, err := a.AcquireLease(ctx, r1.ID, ownerA, shortTTL)
		noErr(t, err, "AcquireLease one")
		l2, err := a.AcquireLease(ctx, r2.ID, ownerA, shortTTL)
		noErr(t, err, "AcquireLease two")
		// Wait until b's view says expired (a probe on another session
		// with the same ttl, taken later, has expired too).
		probe := liveSession(t, a, "alice", "probe")
		_, err = a.AcquireLease(ctx, probe.ID, ownerA, shortTTL)
		noErr(t, err, "AcquireLease probe")
		acquireAfterExpiry(t, b, probe.ID, ownerB, longTTL)

		renewed, err := a.RenewLeases(ctx, ownerA, longTTL)
		noErr(t, err, "RenewLeases after the leases lapsed")
		ids := leaseIDs(renewed)
		if want := slices.Sorted(slices.Values([]string{r1.ID, r2.ID})); !slices.Equal(ids, want) {
			t.Fatalf("RenewLeases = %q, want %q (lapsed but untaken)", ids, want)
		}
		for _, l := range renewed {
			want := map[string]int64{r1.ID: l1.Epoch, r2.ID: l2.Epoch}[l.SessionID]
			checkLease(t, "revived "+l.SessionID, l, l.SessionID, ownerA, want)
		}
		_, err = b.AcquireLease(ctx, r1.ID, ownerB, longTTL)
		wantErr(t, err, persist.ErrLeaseHeld, "AcquireLease by b after a's renewal")
	})

	t.Run("ReleaseThenAcquireBumps", func(t *testing.T) {
		tests := []struct {
			name string
			next persist.Owner
		}{
			{"same owner", ownerA},
			{"other node", ownerB},
			{"same node, new boot", ownerA2},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a, b := pair(t)
				ctx := t.Context()
				r := liveSession(t, a, "alice", "work")
				l, err := a.AcquireLease(ctx, r.ID, ownerA, longTTL)
				noErr(t, err, "AcquireLease")
				noErr(t, a.ReleaseLease(ctx, r.ID, persist.Fence{Node: ownerA.Node, Epoch: l.Epoch}), "ReleaseLease")
				free, err := b.GetLease(ctx, r.ID)
				noErr(t, err, "GetLease after release")
				checkLease(t, "released", free, r.ID, persist.Owner{}, l.Epoch)
				mine, err := a.RenewLeases(ctx, ownerA, longTTL)
				noErr(t, err, "RenewLeases after release")
				if len(mine) != 0 {
					t.Fatalf("RenewLeases after release = %+v, want none", mine)
				}
				next, err := b.AcquireLease(ctx, r.ID, tt.next, longTTL)
				noErr(t, err, "AcquireLease after release")
				checkLease(t, "acquire after release", next, r.ID, tt.next, l.Epoch+1)
				_, err = a.PutSnapshot(ctx, r.ID, persist.Fence{Node: ownerA.Node, Epoch: l.Epoch}, []byte("late"))
				wantErr(t, err, persist.ErrLeaseLost, "PutSnapshot at the released epoch")
			})
		}
	})

	t.Run("RenewReturnsOnlyHeld", func(t *testing.T) {
		a, b := pair(t)
		ctx := t.Context()
		kept, released, stolen := liveSession(t, a, "alice", "kept"), liveSession(t, a, "alice", "released"), liveSession(t, a, "alice", "stolen")
		others := liveSession(t, a, "bob", "others")
		lk, err := a.AcquireLease(ctx, kept.ID, ownerA, longTTL)
		noErr(t, err, "AcquireLease kept")
		lr, err := a.AcquireLease(ctx, released.ID, ownerA, longTTL)
		noErr(t, err, "AcquireLease released")
		_, err = a.AcquireLease(ctx, stolen.ID, ownerA, shortTTL)
		noErr(t, err, "AcquireLease stolen")
		_, err = b.AcquireLease(ctx, others.ID, ownerB, longTTL)
		noErr(t, err, "AcquireLease by b")
		noErr(t, a.ReleaseLease(ctx, released.ID, persist.Fence{Node: ownerA.Node, Epoch: lr.Epoch}), "ReleaseLease")
		acquireAfterExpiry(t, b, stolen.ID, ownerB, longTTL)

		renewed, err := a.RenewLeases(ctx, ownerA, longTTL)
		noErr(t, err, "RenewLeases")
		if len(renewed) != 1 {
			t.Fatalf("RenewLeases = %q, want only %s", leaseIDs(renewed), kept.ID)
		}
		checkLease(t, "renewed", renewed[0], kept.ID, ownerA, lk.Epoch)
		// Another boot of the same node holds nothing.
		none, err := b.RenewLeases(ctx, ownerA2, longTTL)
		noErr(t, err, "RenewLeases by a new boot")
		if len(none) != 0 {
			t.Fatalf("RenewLeases by %s = %q, want none", ownerA2, leaseIDs(none))
		}
		theirs, err := b.RenewLeases(ctx, ownerB, longTTL)
		noErr(t, err, "RenewLeases by b")
		if ids, want := leaseIDs(theirs), slices.Sorted(slices.Values([]string{others.ID, stolen.ID})); !slices.Equal(ids, want) {
			t.Fatalf("RenewLeases by b = %q, want %q", ids, want)
		}
	})

	t.Run("ConcurrentAcquireOneWinner", func(t *testing.T) {
		a, b := pair(t)
		ctx := t.Context()
		const rounds = 10
		for i := range rounds {
			r := liveSession(t, a, "alice", fmt.Sprintf("race%d", i))
			owners := []persist.Owner{ownerA, ownerB, ownerA2, {Node: "node-c", Boot: "c1"}}
			wins := make([]bool, len(owners))
			race(len(owners), a, b, func(j int, h persist.Store) {
				o := owners[j]
				_, err := h.AcquireLease(ctx, r.ID, o, longTTL)
				if err != nil && !errors.Is(err, persist.ErrLeaseHeld) {
					t.Errorf("AcquireLease by %s: %v", o, err)
				}
				wins[j] = err == nil
			})
			if n := len(slices.DeleteFunc(wins, func(w bool) bool { return !w })); n != 1 {
				t.Fatalf("round %d: %d owners acquired one free lease, want 1", i, n)
			}
			l, err := a.GetLease(ctx, r.ID)
			noErr(t, err, "GetLease")
			if l.Epoch != r.Epoch+1 {
				t.Fatalf("round %d: epoch %d after one acquire, want %d", i, l.Epoch, r.Epoch+1)
			}
		}
	})

	t.Run("UpdateSessionLeavesNode", func(t *testing.T) {
		a, b := pair(t)
		ctx := t.Context()
		r := liveSession(t, a, "alice", "work")
		l, err := a.AcquireLease(ctx, r.ID, ownerB, longTTL)
		noErr(t, err, "AcquireLease")
		w := r
		w.Epoch, w.Node, w.State = l.Epoch, "node-elsewhere", persist.StateDetached
		noErr(t, a.UpdateSession(ctx, w), "UpdateSession")
		got, err := b.GetSession(ctx, r.ID)
		noErr(t, err, "GetSession")
		if got.Node != ownerB.Node || got.State != persist.StateDetached {
			t.Fatalf("after UpdateSession: node %q state %q, want %q detached (Node is AcquireLease's)", got.Node, got.State, ownerB.Node)
		}
	})
}

// race runs f(i, h) for i in [0, n) at once, on handle a for even i and b
// for odd: every goroutine waits at one start line, so their store calls
// overlap as much as the scheduler allows.
func race(n int, a, b persist.Store, f func(i int, h persist.Store)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		h := []persist.Store{a, b}[i%2]
		wg.Go(func() {
			<-start
			f(i, h)
		})
	}
	close(start)
	wg.Wait()
}

func leaseIDs(ls []persist.Lease) []string {
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.SessionID)
	}
	slices.Sort(ids)
	return ids
}

func testNodes(t *testing.T, pair pairOpener) {
	a, b := pair(t)
	ctx := t.Context()
	started := t0.Add(-time.Hour)
	n := persist.Node{ID: "node-b", Boot: "boot-b1", Addr: "ssh=:2222 telnet=:2323", Started: started,
		Seen: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	noErr(t, a.Heartbeat(ctx, n), "Heartbeat node-b")
	noErr(t, b.Heartbeat(ctx, persist.Node{ID: "node-a", Boot: "boot-a1", Addr: "ssh=:2222", Started: started}), "Heartbeat node-a")

	list := func(what string) []persist.Node {
		t.Helper()
		ns, err := b.ListNodes(ctx)
		noErr(t, err, "ListNodes "+what)
		if len(ns) != 2 || ns[0].ID != "node-a" || ns[1].ID != "node-b" {
			t.Fatalf("ListNodes %s = %+v, want node-a then node-b", what, ns)
		}
		return ns
	}
	first := list("after the first heartbeats")[1]
	if first.Boot != n.Boot || first.Addr != n.Addr || !sameMS(first.Started, started) || first.Draining {
		t.Fatalf("node-b = %+v, want %+v", first, n)
	}
	if first.Seen.Year() < 2020 {
		t.Fatalf("Seen = %v: the store must set it, not take the caller's", first.Seen)
	}

	// A later heartbeat moves Seen; a new boot replaces the old one; the
	// draining flag round-trips.
	n2 := persist.Node{ID: "node-b", Boot: "boot-b2", Addr: "ssh=:2222", Started: started.Add(time.Minute), Draining: true}
	deadline := time.Now().Add(pollFor)
	var second persist.Node
	for {
		noErr(t, a.Heartbeat(ctx, n2), "Heartbeat node-b again")
		second = list("after a new boot")[1]
		if second.Seen.After(first.Seen) || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond) // the store's clock has to move
	}
	if !second.Seen.After(first.Seen) {
		t.Fatalf("Seen stayed %v after a later heartbeat", first.Seen)
	}
	if second.Boot != "boot-b2" || second.Addr != "ssh=:2222" || !sameMS(second.Started, n2.Started) || !second.Draining || second.Stopped {
		t.Fatalf("node-b after a new boot = %+v, want %+v", second, n2)
	}

	// A clean shutdown's last heartbeat says stopped; the next boot's first
	// heartbeat clears it.
	n2.Stopped = true
	noErr(t, a.Heartbeat(ctx, n2), "Heartbeat node-b stopped")
	if got := list("after a stop")[1]; !got.Stopped || !got.Draining {
		t.Fatalf("node-b after its last heartbeat = %+v, want stopped (and draining)", got)
	}
	if got := list("after a stop")[0]; got.Stopped {
		t.Fatalf("node-a = %+v: another node's stop marked it stopped", got)
	}
	noErr(t, a.Heartbeat(ctx, persist.Node{ID: "node-b", Boot: "boot-b3", Addr: "ssh=:2222", Started: started.Add(2 * time.Minute)}), "Heartbeat node-b restarted")
	if got := list("after a restart")[1]; got.Stopped || got.Draining || got.Boot != "boot-b3" {
		t.Fatalf("node-b after a restart = %+v, want up, not stopped", got)
	}
}

func testRequests(t *testing.T, pair pairOpener) {
	t.Run("PostTake", func(t *testing.T) {
		a, b := pair(t)
		ctx := t.Context()
		want := []persist.Request{
			{Node: "node-b", Kind: persist.RequestHandoff, SessionID: "s1", Actor: "alice", Remote: "192.0.2.7:4000", Detail: "node-a"},
			{Node: "node-b", Kind: persist.RequestMessage, SessionID: "s2", Actor: "root", Detail: "maintenance at 5 ✓"},
			{Node: "node-b", Kind: persist.RequestDrain, Actor: "system"},
		}
		other, err := a.PostRequest(ctx, persist.Request{Node: "node-c", Kind: persist.RequestKill, SessionID: "s3", Actor: "root"})
		noErr(t, err, "PostRequest node-c")
		var lastID int64
		for i, r := range want {
			got, err := a.PostRequest(ctx, r)
			noErr(t, err, "PostRequest")
			if got.ID <= lastID || got.At.IsZero() {
				t.Fatalf("PostRequest %d: id %d (previous %d), at %v; want increasing ids and a store time", i, got.ID, lastID, got.At)
			}
			lastID, want[i] = got.ID, got
		}
		got, err := b.TakeRequests(ctx, "node-b")
		noErr(t, err, "TakeRequests node-b")
		if len(got) != len(want) {
			t.Fatalf("TakeRequests = %+v, want %+v", got, want)
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.ID != w.ID || g.Node != w.Node || g.Kind != w.Kind || g.SessionID != w.SessionID || g.Actor != w.Actor ||
				g.Remote != w.Remote || g.Detail != w.Detail || !sameMS(g.At, w.At) {
				t.Errorf("TakeRequests[%d] = %+v, want %+v", i, g, w)
			}
		}
		again, err := a.TakeRequests(ctx, "node-b")
		noErr(t, err, "TakeRequests node-b again")
		if len(again) != 0 {
			t.Fatalf("second TakeRequests = %+v, want none", again)
		}
		rest, err := a.TakeRequests(ctx, "node-c")
		noErr(t, err, "TakeRequests node-c")
		if len(rest) != 1 || rest[0].ID != other.ID {
			t.Fatalf("TakeRequests node-c = %+v, want only %d", rest, other.ID)
		}
	})

	t.Run("EachTakenOnce", func(t *testing.T) {
		// Posts and takes interleave on both handles; every request is
		// returned to exactly one taker.
		a, b := pair(t)
		ctx := t.Context()
		const posters, each, takers = 2, 50, 4
		var mu sync.Mutex
		seen := map[int64]int{}
		var posted sync.WaitGroup
		for p := range posters {
			h := []persist.Store{a, b}[p%2]
			posted.Go(func() {
				for i := range each {
					if _, err := h.PostRequest(ctx, persist.Request{Node: "node-x", Kind: persist.RequestDetach, SessionID: fmt.Sprint(p, "/", i)}); err != nil {
						t.Errorf("PostRequest: %v", err)
						return
					}
				}
			})
		}
		done := make(chan struct{})
		go func() { posted.Wait(); close(done) }()
		var took sync.WaitGroup
		for k := range takers {
			h := []persist.Store{a, b}[k%2]
			took.Go(func() {
				for last := false; ; {
					select {
					case <-done:
						last = true // one more take after the last post
					default:
					}
					rs, err := h.TakeRequests(ctx, "node-x")
					if err != nil {
						t.Errorf("TakeRequests: %v", err)
						return
					}
					mu.Lock()
					for _, r := range rs {
						seen[r.ID]++
					}
					mu.Unlock()
					if last {
						return
					}
				}
			})
		}
		took.Wait()
		if len(seen) != posters*each {
			t.Fatalf("%d distinct requests taken, want %d", len(seen), posters*each)
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("request %d taken %d times", id, n)
			}
		}
	})
}

// receive waits (bounded) for a payload on ch, sending more wake-ups with
// send meanwhile: a wake-up may be lost, e.g. sent before LISTEN took hold.
func receive(t *testing.T, ch <-chan string, send func() error) string {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(pollFor)
	noErr(t, send(), "Notify")
	for {
		select {
		case p, ok := <-ch:
			if !ok {
				t.Fatal("listen channel closed before a payload came")
			}
			return p
		case <-tick.C:
			noErr(t, send(), "Notify")
		case <-timeout:
			t.Fatalf("no payload within %v", pollFor)
		}
	}
}

func testNotifier(t *testing.T, pair pairOpener) {
	tests := []struct {
		name    string
		channel string
		payload string
	}{
		{"node channel", persist.NodeChannel("node-b"), "handoff"},
		{"chat", persist.ChatChannel, "12345"},
		{"longest payload", persist.SessionsChannel, fmt.Sprintf("%01000d", 7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := pair(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			ch, err := b.Listen(ctx, tt.channel)
			noErr(t, err, "Listen on b")
			quiet, err := b.Listen(ctx, "termhost.other")
			noErr(t, err, "Listen on another channel")
			got := receive(t, ch, func() error { return a.Notify(ctx, tt.channel, tt.payload) })
			if got != tt.payload {
				t.Fatalf("payload = %q, want %q", got, tt.payload)
			}
			select {
			case p := <-quiet:
				t.Fatalf("another channel received %q", p)
			default:
			}
		})
	}

	t.Run("SameHandle", func(t *testing.T) {
		a, _ := pair(t)
		ch, err := a.Listen(t.Context(), persist.ChatChannel)
		noErr(t, err, "Listen")
		if got := receive(t, ch, func() error { return a.Notify(t.Context(), persist.ChatChannel, "1") }); got != "1" {
			t.Fatalf("payload = %q, want 1", got)
		}
	})

	t.Run("ContextEndCloses", func(t *testing.T) {
		a, b := pair(t)
		ctx, cancel := context.WithCancel(t.Context())
		ch, err := b.Listen(ctx, persist.ChatChannel)
		noErr(t, err, "Listen")
		cancel()
		timeout := time.After(pollFor)
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					// Notifying after the listener left is no error.
					noErr(t, a.Notify(t.Context(), persist.ChatChannel, "after"), "Notify after the listener left")
					return
				}
			case <-timeout:
				t.Fatalf("listen channel still open %v after its context ended", pollFor)
			}
		}
	})
}

func testSecrets(t *testing.T, pair pairOpener) {
	t.Run("FirstWins", func(t *testing.T) {
		a, b := pair(t)
		ctx := t.Context()
		first := []byte("key\x00\xff one")
		got, err := a.EnsureSecret(ctx, "ssh_host_ed25519", first)
		noErr(t, err, "EnsureSecret first")
		if string(got) != string(first) {
			t.Fatalf("first EnsureSecret = %q, want its own value", got)
		}
		got, err = b.EnsureSecret(ctx, "ssh_host_ed25519", []byte("key two"))
		noErr(t, err, "EnsureSecret second")
		if string(got) != string(first) {
			t.Fatalf("second EnsureSecret = %q, want the first value %q", got, first)
		}
		other, err := b.EnsureSecret(ctx, "seal_key", []byte("seal"))
		noErr(t, err, "EnsureSecret another name")
		if string(other) != "seal" {
			t.Fatalf("EnsureSecret(seal_key) = %q, want its own value", other)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		a, b := pair(t)
		const racers = 8
		got := make([]string, racers)
		race(racers, a, b, func(i int, h persist.Store) {
			v, err := h.EnsureSecret(t.Context(), "ssh_host_ed25519", fmt.Appendf(nil, "value %d", i))
			if err != nil {
				t.Errorf("EnsureSecret %d: %v", i, err)
			}
			got[i] = string(v)
		})
		if n := len(slices.Compact(slices.Sorted(slices.Values(got)))); n != 1 || got[0] == "" {
			t.Fatalf("racers got %q, want one value for all", got)
		}
	})
}

// testCaps: rules that must hold under concurrent logins on several nodes
// (SPEC §6) are decided by the store, so they hold across handles.
func testCaps(t *testing.T, pair pairOpener) {
	t.Run("SessionCap", func(t *testing.T) {
		tests := []struct {
			name    string
			cap     int
			racers  int
			wantWin int
		}{
			{"cap 3 of 8", 3, 8, 3},
			{"cap 1 of 6", 1, 6, 1},
			{"no cap", 0, 6, 6},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a, b := pair(t)
				ctx := t.Context()
				// An ended session does not count against the cap.
				ended := newSession("alice", "old")
				ended.State, ended.EndedAt = persist.StateEnded, t0
				noErr(t, a.CreateSession(ctx, ended, 1), "CreateSession ended")
				noErr(t, a.CreateSession(ctx, newSession("bob", "other"), 1), "CreateSession of another owner")
				wins := make([]bool, tt.racers)
				race(tt.racers, a, b, func(i int, h persist.Store) {
					err := h.CreateSession(ctx, newSession("alice", fmt.Sprint("s", i)), tt.cap)
					if err != nil && !errors.Is(err, persist.ErrLimit) {
						t.Errorf("CreateSession %d: %v", i, err)
					}
					wins[i] = err == nil
				})
				live, err := b.ListSessions(ctx, persist.SessionFilter{Owner: "alice"})
				noErr(t, err, "ListSessions")
				if n := len(slices.DeleteFunc(wins, func(w bool) bool { return !w })); n != tt.wantWin || len(live) != tt.wantWin {
					t.Fatalf("%d creates succeeded, %d live sessions; want %d (cap %d)", n, len(live), tt.wantWin, tt.cap)
				}
			})
		}
	})

	t.Run("NameUniqueAcrossHandles", func(t *testing.T) {
		a, b := pair(t)
		const racers = 6
		errs := make([]error, racers)
		race(racers, a, b, func(i int, h persist.Store) { errs[i] = h.CreateSession(t.Context(), newSession("alice", "work"), 0) })
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, persist.ErrExists):
				t.Errorf("CreateSession %d: %v, want nil or ErrExists", i, err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d creates of alice/work succeeded, want 1", ok)
		}
	})

	t.Run("FirstAdmin", func(t *testing.T) {
		a, b := pair(t)
		ctx := t.Context()
		const racers = 8
		race(racers, a, b, func(i int, h persist.Store) {
			u, err := h.SignUp(ctx, persist.User{Name: fmt.Sprint("racer", i), Role: persist.RoleUser, CreatedAt: t0}, true)
			if err != nil {
				t.Errorf("SignUp %d: %v", i, err)
			}
			if u.Name != fmt.Sprint("racer", i) {
				t.Errorf("SignUp %d returned user %q", i, u.Name)
			}
		})
		late, err := a.SignUp(ctx, persist.User{Name: "late", Role: persist.RoleUser}, true)
		noErr(t, err, "SignUp after the first admin")
		if late.Role != persist.RoleUser {
			t.Fatalf("late SignUp got role %q, want user", late.Role)
		}
		_, err = b.SignUp(ctx, persist.User{Name: "late", Role: persist.RoleUser}, false)
		wantErr(t, err, persist.ErrExists, "SignUp of a taken name")
		users, err := b.ListUsers(ctx)
		noErr(t, err, "ListUsers")
		admins := 0
		for _, u := range users {
			if u.Role == persist.RoleAdmin {
				admins++
			}
		}
		if len(users) != racers+1 || admins != 1 {
			t.Fatalf("%d users, %d admins; want %d users and exactly 1 admin", len(users), admins, racers+1)
		}
	})

	t.Run("SignUpWithoutFirstAdmin", func(t *testing.T) {
		a, _ := pair(t)
		u, err := a.SignUp(t.Context(), persist.User{Name: "bob", Role: persist.RoleUser}, false)
		noErr(t, err, "SignUp")
		if u.Role != persist.RoleUser || u.CreatedAt.IsZero() {
			t.Fatalf("SignUp without firstAdmin = %+v, want a user with a creation time", u)
		}
		has, err := a.HasAdmin(t.Context())
		noErr(t, err, "HasAdmin")
		if has {
			t.Fatal("SignUp without firstAdmin made an admin")
		}
	})

	t.Run("AttachmentsRoundTrip", func(t *testing.T) {
		a, b := pair(t)
		ctx := t.Context()
		r := newSession("alice", "work")
		r.Attachments = []persist.Attachment{
			{Transport: "ssh", RemoteAddr: "127.0.0.7:50000", Term: "xterm-256color", Width: 200, Height: 60, Since: t0},
			{Transport: "telnet", RemoteAddr: "[2001:db8::1]:23", Term: "vt100", Width: 80, Height: 24, Since: t0.Add(time.Second)},
		}
		noErr(t, a.CreateSession(ctx, r, 0), "CreateSession with attachments")
		got, err := b.GetSession(ctx, r.ID)
		noErr(t, err, "GetSession")
		checkAttachments(t, "after create", got.Attachments, r.Attachments)

		l, err := a.AcquireLease(ctx, r.ID, ownerA, longTTL)
		noErr(t, err, "AcquireLease")
		r.Epoch, r.Attachments = l.Epoch, r.Attachments[1:]
		noErr(t, a.UpdateSession(ctx, r), "UpdateSession one detached")
		got, err = b.GetSession(ctx, r.ID)
		noErr(t, err, "GetSession")
		checkAttachments(t, "after one left", got.Attachments, r.Attachments)

		r.Attachments = nil
		noErr(t, a.UpdateSession(ctx, r), "UpdateSession all detached")
		list, err := b.ListSessions(ctx, persist.SessionFilter{Owner: "alice"})
		noErr(t, err, "ListSessions")
		if len(list) != 1 {
			t.Fatalf("ListSessions = %d sessions, want 1", len(list))
		}
		checkAttachments(t, "listing after all left", list[0].Attachments, nil)
	})
}

// checkAttachments compares attachment lists (nil and empty are equal,
// times to the millisecond).
func checkAttachments(t *testing.T, what string, got, want []persist.Attachment) {
	t.Helper()
	eq := slices.EqualFunc(got, want, func(g, w persist.Attachment) bool {
		return g.Transport == w.Transport && g.RemoteAddr == w.RemoteAddr && g.Term == w.Term &&
			g.Width == w.Width && g.Height == w.Height && sameMS(g.Since, w.Since)
	})
	if !eq {
		t.Errorf("%s: attachments = %+v, want %+v", what, got, want)
	}
}
