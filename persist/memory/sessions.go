package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"termhost/persist"
)

func cloneSession(r persist.Session) persist.Session {
	r.Apps = slices.Clone(r.Apps)
	for i := range r.Apps {
		r.Apps[i].Documents = slices.Clone(r.Apps[i].Documents)
	}
	r.Attachments = slices.Clone(r.Attachments)
	for i := range r.Attachments {
		r.Attachments[i].Since = ms(r.Attachments[i].Since)
	}
	if len(r.Attachments) == 0 {
		r.Attachments = nil
	}
	r.CreatedAt, r.LastInputAt, r.EndedAt, r.DetachedAt = ms(r.CreatedAt), ms(r.LastInputAt), ms(r.EndedAt), ms(r.DetachedAt)
	return r
}

// nameTaken reports whether owner has another session that has not ended
// named name (the SQL backends' partial unique index).
func (d *db) nameTaken(owner, name, exceptID string) bool {
	for id, r := range d.byOwner[owner] {
		if id != exceptID && r.s.Name == name && r.s.State != persist.StateEnded {
			return true
		}
	}
	return false
}

// CreateSession implements persist.Sessions: the cap check and the insert
// happen under one lock. ErrLimit, ErrExists.
func (s *Store) CreateSession(ctx context.Context, r persist.Session, maxPerOwner int) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	d := s.db
	if maxPerOwner > 0 {
		n := 0
		for _, x := range d.byOwner[r.Owner] {
			if x.s.State != persist.StateEnded {
				n++
			}
		}
		if n >= maxPerOwner {
			return fmt.Errorf("session %q of %s: %d live (cap %d): %w", r.Name, r.Owner, n, maxPerOwner, persist.ErrLimit)
		}
	}
	if _, ok := d.sessions[r.ID]; ok || (r.State != persist.StateEnded && d.nameTaken(r.Owner, r.Name, r.ID)) {
		return fmt.Errorf("session %q of %s: %w", r.Name, r.Owner, persist.ErrExists)
	}
	d.add(&sessionRow{s: cloneSession(r)})
	return nil
}

// GetSession implements persist.Sessions. ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (persist.Session, error) {
	if err := s.lock(); err != nil {
		return persist.Session{}, err
	}
	defer s.unlock()
	r, ok := s.db.sessions[id]
	if !ok {
		return persist.Session{}, fmt.Errorf("session %q: %w", id, persist.ErrNotFound)
	}
	return cloneSession(r.s), nil
}

// ListSessions implements persist.Sessions, ordered by creation and id.
func (s *Store) ListSessions(ctx context.Context, f persist.SessionFilter) ([]persist.Session, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	detachedBefore, createdBefore := ms(f.DetachedBefore), ms(f.CreatedBefore)
	rows := s.db.sessions
	if f.Owner != "" {
		rows = s.db.byOwner[f.Owner]
	}
	var out []persist.Session
	for _, r := range rows {
		x := cloneSession(r.s)
		switch {
		case f.Owner != "" && x.Owner != f.Owner,
			f.State != "" && x.State != f.State,
			f.State == "" && !f.IncludeEnd && x.State == persist.StateEnded,
			!detachedBefore.IsZero() && (x.DetachedAt.IsZero() || x.DetachedAt.After(detachedBefore)),
			!createdBefore.IsZero() && x.CreatedAt.After(createdBefore):
			continue
		}
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b persist.Session) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// UpdateSession implements persist.Sessions: fenced by r.Epoch; Node is
// not written. ErrNotFound, ErrLeaseLost, ErrExists (name taken).
func (s *Store) UpdateSession(ctx context.Context, r persist.Session) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	cur, err := s.db.fenced(r.ID, r.Epoch)
	if err != nil {
		return err
	}
	if r.State != persist.StateEnded && s.db.nameTaken(cur.s.Owner, r.Name, r.ID) {
		return fmt.Errorf("session name %q of %s: %w", r.Name, r.Owner, persist.ErrExists)
	}
	n := cloneSession(r)
	x := &cur.s
	x.Name, x.State, x.LastInputAt, x.EndedAt, x.EndReason, x.DetachedAt, x.Apps, x.Attachments =
		n.Name, n.State, n.LastInputAt, n.EndedAt, n.EndReason, n.DetachedAt, n.Apps, n.Attachments
	return nil
}

// fenced returns session id's row if its epoch is epoch: ErrNotFound,
// ErrLeaseLost. Called with mu held.
func (d *db) fenced(id string, epoch int64) (*sessionRow, error) {
	r, ok := d.sessions[id]
	if !ok {
		return nil, fmt.Errorf("session %q: %w", id, persist.ErrNotFound)
	}
	if r.s.Epoch != epoch {
		return nil, fmt.Errorf("session %s: epoch %d, store has %d: %w", id, epoch, r.s.Epoch, persist.ErrLeaseLost)
	}
	return r, nil
}

// AppendEvent implements persist.Sessions; a session keeps its newest
// 1,000 events.
func (s *Store) AppendEvent(ctx context.Context, e persist.Event) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	if e.At.IsZero() {
		e.At = s.db.now()
	}
	e.At = ms(e.At)
	if _, ok := s.db.sessions[e.SessionID]; !ok {
		// No orphan history (an event racing DeleteUser), as on SQLite.
		return fmt.Errorf("append event %q to session %q: %w", e.Kind, e.SessionID, persist.ErrNotFound)
	}
	s.db.events[e.SessionID] = trimFront(append(s.db.events[e.SessionID], e), maxEventsPerSession)
	return nil
}

// Events implements persist.Sessions, oldest first.
func (s *Store) Events(ctx context.Context, id string) ([]persist.Event, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	return slices.Clone(s.db.events[id]), nil
}
