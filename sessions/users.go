package sessions

import (
	"context"
	"errors"
	"fmt"

	"termhost/persist"
)

// Accounts deletes accounts with everything they own; persist.Users does.
type Accounts interface {
	DeleteUser(ctx context.Context, name string) error
}

// AccountDeleted is what a deleted user's clients are told (SPEC §7).
const AccountDeleted = "your account was deleted"

// maxDeletePasses bounds how often DeleteUser looks again for sessions of
// the user that woke while it worked.
const maxDeletePasses = 5

// DeleteUser deletes the account name (SPEC §7): its live sessions on this
// node end at once, their clients told AccountDeleted, and nothing of them
// is written afterwards; the store removes the account, its sessions,
// documents, last workspace and login tokens (chat lines stay: they are the
// rooms' history). A later account of that name starts empty. actor is
// recorded in the log. It returns how many live sessions ended; the error
// wraps persist.ErrNotFound when there was no such account (its leftovers
// are removed all the same).
//
// The account goes first, so no new login can wake a session; live
// sessions are then dropped; a last pass removes whatever a write racing
// the drop (a debounced snapshot, a document save) left behind.
func (m *Manager) DeleteUser(ctx context.Context, accounts Accounts, name, actor string) (int, error) {
	first := accounts.DeleteUser(ctx, name)
	if first != nil && !errors.Is(first, persist.ErrNotFound) {
		return 0, fmt.Errorf("delete user %q: %w", name, first)
	}
	ended := 0
	for range maxDeletePasses {
		live := m.liveOf(name)
		if len(live) == 0 {
			break
		}
		for _, s := range live {
			m.drop(s)
			ended++
		}
	}
	if err := accounts.DeleteUser(ctx, name); err != nil && !errors.Is(err, persist.ErrNotFound) {
		return ended, fmt.Errorf("delete user %q (second pass): %w", name, err)
	}
	m.log.Info("user deleted", "user", name, "actor", actor, "sessions_ended", ended)
	return ended, first
}

// liveOf returns the live sessions of owner.
func (m *Manager) liveOf(owner string) []*Session {
	m.mu.Lock()
	all := make([]*Session, 0, len(m.live))
	for _, s := range m.live {
		all = append(all, s)
	}
	m.mu.Unlock()
	var out []*Session
	for _, s := range all {
		s.mu.Lock()
		mine := s.rec.Owner == owner
		s.mu.Unlock()
		if mine {
			out = append(out, s)
		}
	}
	return out
}

// drop ends a session whose account is deleted: its clients are told why
// and it writes nothing more. Unlike end it saves no last workspace and
// records no history, since those rows are being removed. flushMu waits
// for a snapshot write in flight, so none lands after the drop.
func (m *Manager) drop(s *Session) {
	s.flushMu.Lock()
	s.mu.Lock()
	s.gone = true
	s.dirty = false
	if s.flushing != nil {
		s.flushing.Stop()
		s.flushing = nil
	}
	s.rec.State, s.rec.EndReason, s.rec.EndedAt = persist.StateEnded, "account deleted", m.clock.Now()
	clients := s.clients
	s.clients = nil
	id, name := s.rec.ID, s.rec.Name
	s.mu.Unlock()
	s.flushMu.Unlock()
	msg := fmt.Sprintf("[session %s ended: %s]", name, AccountDeleted)
	for _, c := range clients {
		c.farewell(msg)
	}
	m.mu.Lock()
	if m.live[id] == s {
		delete(m.live, id)
	}
	m.mu.Unlock()
}
