package sessions

import (
	"context"
	"fmt"
	"time"

	"termhost/persist"
)

// The cluster view (SPEC §6): where a session lives and how to reach the
// node that runs it. Admin verbs on a session another node runs become
// requests to that node (persist.Requests, woken by the Notifier); the
// asker then watches the session's record for the effect.

// remoteOwner names the node that runs session id when it is another
// node with a live lease; "" when this node runs it or nobody does (it is
// hibernated, or its owner died and the lease expired).
func (m *Manager) remoteOwner(ctx context.Context, id string) (string, error) {
	l, err := m.store.GetLease(ctx, id)
	if err != nil {
		return "", err
	}
	if l.Owner.IsZero() || l.Owner == m.owner || !time.Now().Before(l.Expires) {
		return "", nil
	}
	return l.Owner.Node, nil
}

// askWait bounds how long an admin verb waits to see its effect on
// another node.
const askWait = 5 * time.Second

// askAndWait posts r and waits until the session's record satisfies done.
func (m *Manager) askAndWait(ctx context.Context, r persist.Request, done func(persist.Session) bool) error {
	if err := m.request(ctx, r); err != nil {
		return fmt.Errorf("ask node %s to %s session %s: %w", r.Node, r.Kind, r.SessionID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, askWait)
	defer cancel()
	t := time.NewTicker(25 * time.Millisecond)
	defer t.Stop()
	for {
		rec, err := m.store.GetSession(ctx, r.SessionID)
		if err == nil && done(rec) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("asked node %s to %s session %s; not done after %s: if that node is down, the session is free once its lease (%s) runs out: try again then",
				r.Node, r.Kind, r.SessionID, askWait, m.policy.LeaseTTL)
		case <-t.C:
		}
	}
}

// nodeAlive reports whether node heartbeated within 1.5 lease TTLs (it
// heartbeats every TTL/3, so four beats were missed) and did not say it
// stopped.
func (m *Manager) nodeAlive(n persist.Node) bool {
	return !n.Stopped && time.Since(n.Seen) < m.policy.LeaseTTL+m.policy.LeaseTTL/2 && !n.Seen.IsZero()
}

// messageLocal shows text on every live session of this node ("" id) or
// on one; it returns how many got it.
func (m *Manager) messageLocal(id, actor, text string) int {
	m.mu.Lock()
	var targets []*Session
	for sid, s := range m.live {
		if id == "" || sid == id {
			targets = append(targets, s)
		}
	}
	m.mu.Unlock()
	for _, s := range targets {
		s.message("message from " + actor + ": " + text)
		m.event(s.ID(), "message", actor, "", text)
	}
	return len(targets)
}

// stored is a listing of a session this node does not run: its clients
// are the ones its owner wrote into the record.
func stored(r persist.Session) Info {
	in := Info{Session: r}
	for _, a := range r.Attachments {
		in.Clients = append(in.Clients, ClientView{Transport: a.Transport, Remote: a.RemoteAddr, Term: a.Term, Width: a.Width, Height: a.Height, Since: a.Since})
	}
	return in
}

// sharedElsewhere returns the node and id when `attach ref --shared` names
// a session another live node runs and there is a link to forward the
// client there (SPEC §6: both nodes' clients drive one workspace, the
// session does not move).
func (m *Manager) sharedElsewhere(ctx context.Context, u User, ref string) (node, id string) {
	if m.forward == nil {
		return "", ""
	}
	var rec persist.Session
	var err error
	if ref == "" {
		// `attach --shared` alone joins the user's one session, as on one node.
		recs, lerr := m.store.ListSessions(ctx, persist.SessionFilter{Owner: u.Name})
		if lerr != nil || len(recs) != 1 {
			return "", ""
		}
		rec = recs[0]
	} else if rec, err = m.Find(ctx, u.Name, ref); err != nil {
		return "", ""
	}
	if rec.State == persist.StateEnded || m.liveSession(rec.ID) != nil {
		return "", ""
	}
	node, err = m.remoteOwner(ctx, rec.ID)
	if err != nil {
		return "", ""
	}
	return node, rec.ID
}
