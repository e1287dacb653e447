package sessions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"termhost/persist"
	"termhost/tui"
)

// Ownership (SPEC §6): exactly one node runs a live session. The node that
// runs it holds the session's lease (owner = node id + boot id, an epoch,
// an expiry judged by the store's clock); every snapshot and record write
// carries the epoch and fails once the lease has changed hands. m.live is
// this node's registry; the store's session records and leases are the
// cluster's view of where every session lives.
//
// The life of a lease here:
//   - Create and wake acquire it (acquire: asking the holder for a
//     hand-off, or waiting out a dead holder's expiry);
//   - renewLoop renews all of this node's leases in one statement every
//     LeaseTTL/3 and stops at once (fence) every live session whose lease
//     is no longer ours;
//   - hibernate, end and hand-off release it after the last fenced write.
//
// While the store cannot be reached nothing is renewed and nothing is
// fenced: nobody else can take a lease without the store either, so users
// keep typing and the writes land when it is back (SPEC §6 "Faults"). A
// node that was paused (SIGSTOP) past its lease finds on its next renewal
// that the sessions it had were taken, and fences them before it writes:
// its fenced writes would fail anyway.

// DefaultLeaseTTL is SPEC §6's lease_ttl.
const DefaultLeaseTTL = 10 * time.Second

// MovedAway is what clients of a session taken by another node are told.
const MovedAway = "session moved to another node; reconnect to resume"

// newBoot draws a boot id: 64 random bits in hex, new at every start.
func newBoot() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// Owner returns this node's lease owner (node id + boot id).
func (m *Manager) Owner() persist.Owner { return m.owner }

// handoffPoll is how often a node waiting for a lease looks again when no
// wake-up came (a lost notification, or a dead owner whose lease must
// expire): a lost wake-up costs at most this much.
const handoffPoll = 100 * time.Millisecond

// waitNoteAfter is how long an attach waits for another node's session
// before the user is told why (SPEC §6: a hand-off takes at most 500 ms at
// p99; longer means a dead or stuck owner).
const waitNoteAfter = 500 * time.Millisecond

// askAgain is how often a waiting node repeats its hand-off request.
const askAgain = time.Second

// acquire takes session id's lease for this node. A lease held by a live
// owner on another node is asked for by hand-off (a durable request plus a
// wake-up); a lease of a dead owner is taken as soon as it expires; one
// held by an earlier boot of this node is released at once (a node id runs
// one process at a time: the data directory is locked). It waits until ctx
// ends. remote and actor go into the request, for the owner's farewell.
// note (nil: none) is told once, after waitNoteAfter, what the wait is for:
// a dead owner keeps a user looking at nothing for up to a lease TTL.
func (m *Manager) acquire(ctx context.Context, id, actor, remote string, note func(string)) (persist.Lease, error) {
	var asked time.Time
	start := time.Now()
	for {
		wake := m.released.wait()
		l, err := m.store.AcquireLease(ctx, id, m.owner, m.policy.LeaseTTL)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, persist.ErrLeaseHeld) {
			return l, err
		}
		switch {
		case l.Owner.Node == m.node && l.Owner.Boot != m.owner.Boot:
			// Our previous boot (killed, restarted): nobody runs it.
			if err := m.store.ReleaseLease(ctx, id, persist.Fence{Node: m.node, Epoch: l.Epoch}); err != nil && !errors.Is(err, persist.ErrLeaseLost) {
				return l, err
			}
			continue
		case note != nil && time.Since(start) >= waitNoteAfter:
			note(fmt.Sprintf("waiting for node %s, which runs this session: it hands it over, or it is taken once its lease (%s) runs out", tui.Printable(l.Owner.Node), m.policy.LeaseTTL))
			note = nil
			continue
		case time.Since(asked) > askAgain:
			// Asked again now and then: the owner may have been waking it
			// when the first request came (it answers "not here").
			asked = time.Now()
			m.log.Info("asking for a hand-off", "session", id, "owner", l.Owner.String())
			if err := m.request(ctx, persist.Request{Node: l.Owner.Node, Kind: persist.RequestHandoff, SessionID: id, Actor: actor, Remote: remote, Detail: m.node}); err != nil {
				return l, fmt.Errorf("ask %s for session %s: %w", l.Owner.Node, id, err)
			}
		}
		t := time.NewTimer(handoffPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return l, fmt.Errorf("session %s is held by node %s: %w", id, l.Owner.Node, ctx.Err())
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// request queues r for its node and wakes that node.
func (m *Manager) request(ctx context.Context, r persist.Request) error {
	if _, err := m.store.PostRequest(ctx, r); err != nil {
		return err
	}
	// Only a wake-up: the request is durable and polled.
	logErr(m.log, "notify node", m.store.Notify(ctx, persist.NodeChannel(r.Node), "request"), "node", r.Node)
	return nil
}

// release gives up s's lease after its last write (hibernate, end,
// hand-off) and tells a node waiting for it.
func (m *Manager) release(ctx context.Context, rec persist.Session, to string) {
	err := m.store.ReleaseLease(ctx, rec.ID, persist.Fence{Node: m.node, Epoch: rec.Epoch})
	if err != nil && !errors.Is(err, persist.ErrLeaseLost) && !errors.Is(err, persist.ErrNotFound) {
		m.log.Error("release lease", "session", rec.ID, "err", err)
		return
	}
	if to != "" {
		logErr(m.log, "notify node", m.store.Notify(ctx, persist.NodeChannel(to), "released "+rec.ID), "node", to)
	}
}

// broadcast wakes every goroutine waiting on it: wait returns a channel
// that fire closes.
type broadcast struct {
	mu sync.Mutex // guards ch; taken alone
	ch chan struct{}
}

func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

func (b *broadcast) fire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

// renewLoop keeps this node's leases, heartbeats the node record and
// takes the requests other nodes left for it, every LeaseTTL/3 and
// whenever a wake-up arrives on the node's channel.
func (m *Manager) renewLoop(wakeups <-chan string) {
	defer m.wg.Done()
	every := max(m.policy.LeaseTTL/3, 50*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	m.renewing.Store(true)
	m.renew(m.loopCtx)
	for {
		select {
		case <-m.stop:
			return
		case p, ok := <-wakeups:
			if !ok {
				wakeups = nil // listener gone: polling alone still works
				continue
			}
			if len(p) > len("released ") && p[:len("released ")] == "released " {
				m.released.fire()
				continue
			}
			m.serveRequests(m.loopCtx)
		case <-t.C:
			m.renew(m.loopCtx)
			m.released.fire() // a dead owner's lease may have expired
		}
	}
}

// renew is one round of renewLoop.
func (m *Manager) renew(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, max(m.policy.LeaseTTL/3, time.Second))
	defer cancel()
	m.mu.Lock()
	gen := m.gen
	m.mu.Unlock()
	leases, err := m.store.RenewLeases(ctx, m.owner, m.policy.LeaseTTL)
	m.obs.LeaseRenewed(err == nil)
	if err != nil {
		m.upSince.Store(0)
		if !m.storeDown {
			m.log.Warn("store unreachable: leases not renewed; sessions keep running and writes are retried", "err", err)
			m.storeDown = true
		}
		return
	}
	if m.storeDown {
		m.log.Info("store reachable again: leases renewed", "leases", len(leases))
		m.storeDown = false
	}
	if m.upSince.Load() == 0 {
		m.upSince.Store(time.Now().UnixNano())
	}
	held := make(map[string]int64, len(leases))
	for _, l := range leases {
		held[l.SessionID] = l.Epoch
	}
	m.mu.Lock()
	var old []*Session
	for _, s := range m.live {
		if s.gen <= gen { // not acquired after the renewal began
			old = append(old, s)
		}
	}
	m.mu.Unlock()
	for _, s := range old {
		s.mu.Lock()
		id, epoch, gone := s.rec.ID, s.rec.Epoch, s.gone
		s.mu.Unlock()
		if gone {
			continue
		}
		if e, ok := held[id]; !ok || e != epoch {
			m.log.Warn("lease lost: session stopped here (self-fencing)", "session", id, "epoch", epoch)
			m.obs.LeaseLost()
			m.fence(s, "["+MovedAway+"]")
		}
	}
	n := persist.Node{ID: m.node, Boot: m.owner.Boot, Addr: m.addr, Started: m.started, Draining: m.draining.Load()}
	logErr(m.log, "node heartbeat", m.store.Heartbeat(ctx, n))
	m.serveRequests(ctx)
}

// SetDraining marks the node draining in its node record (SPEC §6
// Drain; `nodes list` shows it) from the next heartbeat on.
func (m *Manager) SetDraining() { m.draining.Store(true) }

// liveSessions copies the registry.
func (m *Manager) liveSessions() []*Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Session, 0, len(m.live))
	for _, s := range m.live {
		out = append(out, s)
	}
	return out
}

// fence stops a session at once without writing anything (its lease is
// gone, or its account): clients are told farewell, a snapshot write in
// flight finishes first (flushMu), none starts after.
func (m *Manager) fence(s *Session, farewell string) {
	s.flushMu.Lock()
	s.mu.Lock()
	s.gone = true
	s.dirty = false
	if s.flushing != nil {
		s.flushing.Stop()
		s.flushing = nil
	}
	clients := s.clients
	s.clients = nil
	id := s.rec.ID
	s.mu.Unlock()
	s.flushMu.Unlock()
	for _, c := range clients {
		c.farewell(farewell)
	}
	m.mu.Lock()
	if m.live[id] == s {
		delete(m.live, id)
	}
	m.mu.Unlock()
	m.chat.publishTo("", tui.SessionsChanged{})
}

// serveRequests takes and carries out the requests other nodes left for
// this one.
func (m *Manager) serveRequests(ctx context.Context) {
	reqs, err := m.store.TakeRequests(ctx, m.node)
	if err != nil {
		logErr(m.log, "take requests", err)
		return
	}
	for _, r := range reqs {
		m.serveRequest(ctx, r)
	}
}

func (m *Manager) serveRequest(ctx context.Context, r persist.Request) {
	if r.Kind == persist.RequestDrain {
		m.log.Info("drain requested", "actor", r.Actor)
		if m.onDrain != nil {
			go m.onDrain()
		}
		return
	}
	s := m.liveSession(r.SessionID)
	if s == nil && r.SessionID != "" {
		if r.Kind == persist.RequestHandoff && r.Detail != "" {
			// Not here (any more): let the asker try at once.
			logErr(m.log, "notify node", m.store.Notify(ctx, persist.NodeChannel(r.Detail), "released "+r.SessionID))
		}
		return
	}
	switch r.Kind {
	case persist.RequestHandoff:
		go m.handOff(context.WithoutCancel(ctx), s, r)
	case persist.RequestDetach:
		s.detachAll(fmt.Sprintf("[detached by %s]", r.Actor), r.Actor, "admin")
	case persist.RequestKill:
		go m.end(context.WithoutCancel(ctx), s, "killed by "+r.Actor, r.Actor, r.Remote)
	case persist.RequestMessage:
		m.messageLocal(r.SessionID, r.Actor, r.Detail)
	}
}

// handOff gives s to the node that asked (SPEC §6): its clients are told
// why, its commands in flight finish, the last snapshot is written
// (fenced), the lease is released and the asker woken.
//
// A request met late (the node was paused past its lease, SPEC §6 Faults)
// may find the session already taken: then its clients are told it moved,
// as the next renewal would tell them, and nothing is written.
func (m *Manager) handOff(ctx context.Context, s *Session, r persist.Request) {
	s.mu.Lock()
	id, epoch := s.rec.ID, s.rec.Epoch
	s.mu.Unlock()
	if l, err := m.store.GetLease(ctx, id); err == nil && (l.Owner != m.owner || l.Epoch != epoch) {
		m.log.Warn("lease lost: session stopped here (self-fencing)", "session", id, "epoch", epoch, "holder", l.Owner.String())
		m.obs.LeaseLost()
		m.fence(s, "["+MovedAway+"]")
		return
	}
	reason := fmt.Sprintf("detached: session attached from %s on node %s", r.Remote, r.Detail)
	if r.Remote == "" {
		reason = "detached: session moved to node " + r.Detail
	}
	m.obs.HandedOff()
	m.hibernateAs(ctx, s, reason, "handoff", r.Detail)
}

// Restarting is what clients of a draining node are told (SPEC §6 Drain):
// their session is saved and released, and a reconnect — through the load
// balancer, to any node — resumes it.
const Restarting = "[server restarting; reconnect to resume — your session is saved]"
