package sessions

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"termhost/persist"
)

// List returns sessions (not ended unless filtered by state) merged with
// live detail. owner "" lists everyone's.
func (m *Manager) List(ctx context.Context, owner, state string) ([]Info, error) {
	recs, err := m.store.ListSessions(ctx, persist.SessionFilter{Owner: owner, State: state})
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(recs))
	for _, r := range recs {
		if s := m.liveSession(r.ID); s != nil {
			in := s.info()
			if state == "" || in.State == state {
				out = append(out, in)
			}
			continue
		}
		out = append(out, stored(r))
	}
	// The store lists by creation already: a stable sort of 100,000
	// sorted Infos would only re-check them at a higher price (issue 10).
	byCreation := func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) }
	if !sort.SliceIsSorted(out, byCreation) {
		sort.SliceStable(out, byCreation)
	}
	return out, nil
}

// Find resolves a session by exact name (among owner's sessions) or by a
// unique id prefix of at least 6 characters. owner "" searches everyone's
// sessions (admins).
func (m *Manager) Find(ctx context.Context, owner, ref string) (persist.Session, error) {
	r, err := m.find(ctx, persist.SessionFilter{Owner: owner}, ref)
	if errors.Is(err, ErrNoSession) {
		// Ended sessions still answer "show" and say why they ended.
		r, err = m.find(ctx, persist.SessionFilter{Owner: owner, IncludeEnd: true}, ref)
	}
	return r, err
}

func (m *Manager) find(ctx context.Context, f persist.SessionFilter, ref string) (persist.Session, error) {
	recs, err := m.store.ListSessions(ctx, f)
	if err != nil {
		return persist.Session{}, err
	}
	var byName, byID []persist.Session
	for _, r := range recs {
		if r.ID == ref {
			return r, nil
		}
		if r.Name == ref {
			byName = append(byName, r)
		}
		if len(ref) >= minIDPrefix && strings.HasPrefix(r.ID, strings.ToLower(ref)) {
			byID = append(byID, r)
		}
	}
	switch {
	case len(byName) == 1:
		return byName[0], nil
	case len(byName) > 1:
		return persist.Session{}, fmt.Errorf("%q names %d sessions of different users; use the id: %w", ref, len(byName), ErrAmbiguous)
	case len(byID) == 1:
		return byID[0], nil
	case len(byID) > 1:
		return persist.Session{}, fmt.Errorf("%q: %w", ref, ErrAmbiguous)
	}
	if len(ref) < minIDPrefix {
		// Maybe a short id prefix: say what would work (issue 9).
		return persist.Session{}, fmt.Errorf("%q: %w (give its name, or at least %d characters of its id)", ref, ErrNoSession, minIDPrefix)
	}
	return persist.Session{}, fmt.Errorf("%q: %w", ref, ErrNoSession)
}

// minIDPrefix is the shortest id prefix Find accepts.
const minIDPrefix = 6

// Show returns one session with its history.
func (m *Manager) Show(ctx context.Context, id string) (Info, []persist.Event, error) {
	rec, err := m.store.GetSession(ctx, id)
	if err != nil {
		return Info{}, nil, err
	}
	in := stored(rec)
	if s := m.liveSession(id); s != nil {
		in = s.info()
	}
	events, err := m.store.Events(ctx, id)
	return in, events, err
}

// Kill ends a session, live or hibernated, on this node or another
// (SPEC §6: admin verbs work from any node on any session).
func (m *Manager) Kill(ctx context.Context, id, actor string) error {
	rec, err := m.store.GetSession(ctx, id)
	if err != nil {
		return err
	}
	if rec.State == persist.StateEnded {
		return fmt.Errorf("session %s already ended: %w", rec.Name, ErrNoSession)
	}
	if node, err := m.remoteOwner(ctx, id); err != nil {
		return err
	} else if node != "" {
		return m.askAndWait(ctx, persist.Request{Node: node, Kind: persist.RequestKill, SessionID: id, Actor: actor},
			func(r persist.Session) bool { return r.State == persist.StateEnded })
	}
	err = m.endRecord(ctx, rec, "killed by "+actor, actor)
	if errors.Is(err, persist.ErrLeaseHeld) {
		// It woke on another node meanwhile: ask that one.
		return m.Kill(ctx, id, actor)
	}
	return err
}

// Detach disconnects a session's clients and keeps the session.
func (m *Manager) Detach(ctx context.Context, id, actor string) (int, error) {
	s := m.liveSession(id)
	if s == nil {
		rec, err := m.store.GetSession(ctx, id)
		if err != nil {
			return 0, err
		}
		node, err := m.remoteOwner(ctx, id)
		if err != nil || node == "" {
			return 0, err
		}
		n := len(rec.Attachments)
		return n, m.askAndWait(ctx, persist.Request{Node: node, Kind: persist.RequestDetach, SessionID: id, Actor: actor},
			func(r persist.Session) bool { return len(r.Attachments) == 0 })
	}
	return s.detachAll(fmt.Sprintf("[detached by %s]", actor), actor, "admin"), nil
}

// SignedOut is what a user's web clients are told when the account's web
// sign-ins end (a password change, sign out everywhere).
const SignedOut = "[signed out: sign in again to continue]"

// DetachTransport detaches, on this node, every client of user's sessions
// that came over transport ("web"), telling it reason, and returns how
// many. It ends a user's open browser terminals at once when their
// sign-ins end; other nodes' terminals end at their next keep-alive check
// (web, 20 s).
func (m *Manager) DetachTransport(user, transport, reason string) int {
	m.mu.Lock()
	var mine []*Session
	for _, s := range m.live {
		mine = append(mine, s)
	}
	m.mu.Unlock()
	n := 0
	for _, s := range mine {
		s.mu.Lock()
		var leaving []*Client
		if s.rec.Owner == user {
			for _, c := range s.clients {
				if c.info.Transport == transport {
					leaving = append(leaving, c)
				}
			}
		}
		s.mu.Unlock()
		for _, c := range leaving {
			s.detachClient(c, reason, "system", c.info.Remote, "signed-out")
			n++
		}
	}
	return n
}

// Message shows text in the status bar of a live session (or all of them
// when id is ""). It returns how many sessions got it: for other nodes'
// sessions, how many live ones the store lists on the nodes asked (they
// show it on their next request poll).
func (m *Manager) Message(ctx context.Context, id, actor, text string) (int, error) {
	if id == "" {
		// Every node's sessions: this one's here, the others' by request.
		n := m.messageLocal("", actor, text)
		nodes, err := m.store.ListNodes(ctx)
		if err != nil {
			return n, err
		}
		asked := map[string]bool{}
		for _, node := range nodes {
			if node.ID != m.node && m.nodeAlive(node) {
				err := m.request(ctx, persist.Request{Node: node.ID, Kind: persist.RequestMessage, Actor: actor, Detail: text})
				logErr(m.log, "message: ask node", err, "node", node.ID)
				asked[node.ID] = err == nil
			}
		}
		if len(asked) == 0 {
			return n, nil
		}
		for _, state := range []string{persist.StateAttached, persist.StateDetached} {
			recs, err := m.store.ListSessions(ctx, persist.SessionFilter{State: state})
			if err != nil {
				return n, err
			}
			for _, r := range recs {
				if asked[r.Node] {
					n++
				}
			}
		}
		return n, nil
	}
	if s := m.liveSession(id); s == nil {
		if node, err := m.remoteOwner(ctx, id); err != nil {
			return 0, err
		} else if node != "" {
			return 1, m.request(ctx, persist.Request{Node: node, Kind: persist.RequestMessage, SessionID: id, Actor: actor, Detail: text})
		}
	}
	if n := m.messageLocal(id, actor, text); n > 0 {
		return n, nil
	}
	if _, err := m.store.GetSession(ctx, id); err != nil {
		return 0, err
	}
	return 0, errors.New("session is not live; the message was not delivered")
}
