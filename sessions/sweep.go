package sessions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"termhost/persist"
)

// Sweep applies the policy table once: idle warnings and detaches,
// hibernation, detached TTL and max age. The sweeper calls it on a ticker
// with the background loops' context, so Shutdown cancels a long sweep
// (retiring a dead node's many sessions) instead of waiting for it; tests
// with a fake clock call it directly.
func (m *Manager) Sweep(ctx context.Context) {
	now := m.clock.Now()
	m.mu.Lock()
	live := make([]*Session, 0, len(m.live))
	for _, s := range m.live {
		live = append(live, s)
	}
	m.mu.Unlock()
	for _, s := range live {
		m.sweepLive(ctx, s, now)
	}
	if m.renewing.Load() && m.upSince.Load() == 0 {
		return // the store is down (the renewer said so once): nothing below can work
	}
	m.sweepHibernated(ctx, now)
	m.sweepOrphans(ctx)
}

// sweepOrphans retires sessions that are attached or detached in the
// store but that no node runs: their owner died (kill -9, a lost machine)
// and its lease expired. Each is taken by lease, so exactly one node marks
// it hibernated; until then an attach takes it just as well.
func (m *Manager) sweepOrphans(ctx context.Context) {
	// After an outage of the store every node's heartbeat looks stale, and
	// the nodes that were cut off renew only once it is back: retiring
	// their sessions now would take them from under their typing users
	// (SPEC §6 Faults). Only a node that has renewed without a break for
	// two lease TTLs (every live node renewed by then) judges the others.
	up := m.upSince.Load()
	if up == 0 || time.Since(time.Unix(0, up)) < 2*m.policy.LeaseTTL {
		return
	}
	nodes, err := m.store.ListNodes(ctx)
	if err != nil {
		m.log.Error("sweep: list nodes", "err", err)
		return
	}
	alive := map[string]bool{m.node: true} // this node's own are in m.live or being woken
	for _, n := range nodes {
		if m.nodeAlive(n) && !n.Draining {
			alive[n.ID] = true
		}
	}
	for _, state := range []string{persist.StateAttached, persist.StateDetached} {
		recs, err := m.store.ListSessions(ctx, persist.SessionFilter{State: state})
		if err != nil {
			m.log.Error("sweep: list live sessions", "err", err)
			return
		}
		for _, r := range recs {
			if ctx.Err() != nil {
				return // shutting down: the next sweep (any node's) goes on
			}
			if alive[r.Node] {
				continue // only sessions of nodes that stopped heartbeating are looked at
			}
			l, err := m.store.GetLease(ctx, r.ID)
			if err != nil || (!l.Owner.IsZero() && time.Now().Before(l.Expires)) {
				continue // gone, or run by a live owner
			}
			if err := m.retire(ctx, r, "its node stopped renewing"); err != nil && !errors.Is(err, persist.ErrLeaseHeld) {
				m.log.Error("sweep: retire an orphaned session", "session", r.ID, "err", err)
			}
		}
	}
}

func (m *Manager) sweepLive(ctx context.Context, s *Session, now time.Time) {
	p := m.policy
	s.mu.Lock()
	rec, attached := s.rec, len(s.clients) > 0
	if attached && now.Sub(s.typed) >= HotScreenIdle {
		for _, c := range s.clients {
			c.releaseScreen() // no longer typed in (screen.go)
		}
	}
	s.mu.Unlock()
	switch {
	case p.MaxSessionAge > 0 && now.Sub(rec.CreatedAt) >= p.MaxSessionAge:
		m.end(ctx, s, "max-age", "system", "")
	case attached && p.IdleTimeout > 0:
		m.sweepIdle(s, rec, now)
	case !attached && p.DetachedTTL > 0 && !rec.DetachedAt.IsZero() && now.Sub(rec.DetachedAt) >= p.DetachedTTL:
		m.end(ctx, s, "expired", "system", "")
	case !attached && p.HibernateAfter > 0 && !rec.DetachedAt.IsZero() && now.Sub(rec.DetachedAt) >= p.HibernateAfter:
		m.hibernate(ctx, s, "hibernated after "+p.HibernateAfter.String())
	}
}

// sweepHibernated ends hibernated sessions past their TTL or age, in the
// whole store, since a hibernated session has no owner until it wakes.
// Every node sweeps; endRecord takes each session's lease first, so each
// due action is one node's (SPEC §6) and the others skip it
// (persist.ErrLeaseHeld).
func (m *Manager) sweepHibernated(ctx context.Context, now time.Time) {
	p := m.policy
	if p.DetachedTTL <= 0 && p.MaxSessionAge <= 0 {
		return
	}
	// Ask only for the sessions that are due, so an idle node with many
	// hibernated sessions does no work per sweep.
	var recs []persist.Session
	for _, f := range []persist.SessionFilter{
		{State: persist.StateHibernated, DetachedBefore: before(now, p.DetachedTTL)},
		{State: persist.StateHibernated, CreatedBefore: before(now, p.MaxSessionAge)},
	} {
		if f.DetachedBefore.IsZero() && f.CreatedBefore.IsZero() {
			continue
		}
		due, err := m.store.ListSessions(ctx, f)
		if err != nil {
			m.log.Error("sweep: list hibernated sessions", "err", err)
			return
		}
		recs = append(recs, due...)
	}
	for _, r := range recs {
		if ctx.Err() != nil {
			return // shutting down: the next sweep (any node's) goes on
		}
		if m.liveSession(r.ID) != nil {
			continue
		}
		if r2, err := m.store.GetSession(ctx, r.ID); err != nil || r2.State != persist.StateHibernated {
			continue // ended by the first query's pass already
		}
		reason := ""
		switch {
		case p.MaxSessionAge > 0 && now.Sub(r.CreatedAt) >= p.MaxSessionAge:
			reason = "max-age"
		case p.DetachedTTL > 0 && !r.DetachedAt.IsZero() && now.Sub(r.DetachedAt) >= p.DetachedTTL:
			reason = "expired"
		default:
			continue
		}
		if err := m.endRecord(ctx, r, reason, "system"); err != nil && !errors.Is(err, persist.ErrLeaseHeld) {
			m.log.Error("sweep: end session", "session", r.ID, "err", err)
		}
	}
}

// sweepIdle warns at 75% of the idle timeout and detaches at 100%. A
// client is never detached without having been shown the warning for at
// least one sweep, even when a sweep runs late.
func (m *Manager) sweepIdle(s *Session, rec persist.Session, now time.Time) {
	p := m.policy
	idle := now.Sub(rec.LastInputAt)
	s.mu.Lock()
	warned := s.warned
	s.mu.Unlock()
	if idle >= p.IdleTimeout && warned {
		s.detachAll(fmt.Sprintf("[detached: idle for %s]", p.IdleTimeout.Round(time.Second)), "system", "idle")
		return
	}
	if idle >= p.IdleTimeout*3/4 {
		left := max(p.IdleTimeout-idle, 0)
		s.mu.Lock()
		s.warned = true
		s.ws.IdleWarning = fmt.Sprintf("idle: detaching in %ds", int((left+time.Second-1)/time.Second))
		s.renderLocked()
		s.mu.Unlock()
	}
}

// before is now-d, or the zero time when the rule is off.
func before(now time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return now.Add(-d)
}
