package sessions

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"termhost/persist"
	"termhost/tui"
)

// markDirtyLocked schedules a snapshot write. The first change arms a timer
// that is not pushed back by later changes, so every change reaches the
// store within FlushDelay plus one write. Caller holds mu.
func (s *Session) markDirtyLocked() {
	s.dirty = true
	if s.flushing == nil {
		s.flushing = s.m.clock.AfterFunc(s.m.policy.FlushDelay, func() {
			if err := s.flush(context.Background()); err != nil {
				s.m.log.Error("snapshot write failed", "session", s.rec.ID, "err", err)
			}
		})
	}
}

// flush writes the workspace if it changed since the last write.
func (s *Session) flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	if s.flushing != nil {
		s.flushing.Stop()
		s.flushing = nil
	}
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	s.dirty = false
	data, err := s.ws.Snapshot()
	rec := s.rec
	same := bytes.Equal(data, s.lastSaved)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("snapshot session %s: %w", rec.ID, err)
	}
	if !same {
		if _, err := s.m.store.PutSnapshot(ctx, rec.ID, persist.Fence{Node: s.m.node, Epoch: rec.Epoch}, persist.Seal(data)); err != nil {
			s.mu.Lock()
			s.dirty = true
			s.mu.Unlock()
			return fmt.Errorf("snapshot session %s: %w", rec.ID, err)
		}
		s.mu.Lock()
		s.lastSaved = data
		s.mu.Unlock()
	}
	s.record("", "", "", "")
	return nil
}

// loadWorkspace restores the newest readable snapshot generation. A
// generation that fails its checksum or does not decode is reported and
// the previous one is tried; nothing is loaded silently.
func (m *Manager) loadWorkspace(ctx context.Context, rec persist.Session, env tui.Env) (*tui.Workspace, error) {
	snaps, err := m.store.Snapshots(ctx, rec.ID)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, snap := range snaps {
		payload, err := persist.Open(snap.Data)
		if err == nil {
			var ws *tui.Workspace
			if ws, err = tui.Restore(m.reg, env, payload); err == nil {
				if len(errs) > 0 {
					m.log.Error("snapshot generations unreadable; restored an older one",
						"session", rec.ID, "restored_gen", snap.Gen, "err", errors.Join(errs...))
					m.event(rec.ID, "restored", "system", "", fmt.Sprintf("fell back to generation %d: %v", snap.Gen, errors.Join(errs...)))
				}
				return ws, nil
			}
		}
		errs = append(errs, fmt.Errorf("generation %d: %w", snap.Gen, err))
	}
	if len(errs) > 0 {
		m.log.Error("no readable snapshot; starting an empty workspace", "session", rec.ID, "err", errors.Join(errs...))
		m.event(rec.ID, "restored", "system", "", "no readable snapshot: "+errors.Join(errs...).Error())
	}
	return nil, persist.ErrNotFound
}
