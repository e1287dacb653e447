package sessions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"termhost/persist"
	"termhost/tui"
)

// Background snapshot writes that fail are retried (SPEC §5: changes reach
// the store; SPEC §6: writes are retried while the store is away).
const (
	// retryFirst is the delay before the first retry; each failure doubles
	// it up to retryMax.
	retryFirst = 100 * time.Millisecond
	retryMax   = 5 * time.Second
	// flushTimeout bounds one background write, so a hung store delays the
	// next retry instead of stopping them.
	flushTimeout = 10 * time.Second
)

// Status-bar texts of this file.
const (
	// SaveWarning shows while background snapshot writes fail; it clears
	// once a write succeeds.
	SaveWarning = "changes not saved: store unavailable; retrying"
	// NoticeUnreadable tells a user that every saved generation of the
	// workspace was unreadable and the session started empty.
	NoticeUnreadable = "your saved workspace could not be read; its copies were kept aside"
	// NoticeOlder tells a user that the newest generation was unreadable
	// and an older one was restored.
	NoticeOlder = "your latest changes could not be read; an older copy was restored"
)

// saveRetry is the state of failing background writes. Guarded by
// Session.mu.
type saveRetry struct {
	backoff time.Duration // delay of the armed retry; 0 while writes succeed
}

// markDirtyLocked schedules a snapshot write. The first change arms a timer
// that is not pushed back by later changes, so every change reaches the
// store within FlushDelay plus one write. While writes fail the armed timer
// is the retry's, and the warning stays in the status bar (a key clears
// notices; this puts it back). Caller holds mu.
func (s *Session) markDirtyLocked() {
	s.dirty = true
	if s.retry.backoff > 0 && s.ws.Notice == "" {
		s.ws.Notice = SaveWarning
	}
	if s.flushing == nil {
		s.flushing = s.m.clock.AfterFunc(s.m.policy.FlushDelay, s.flushInBackground)
	}
}

// flushInBackground is the debounce and retry timers' write. A failure
// that will be retried is not logged again: retryLocked logs the first
// of a run and savedLocked its end, so an outage costs two lines per
// session, not one per retry.
func (s *Session) flushInBackground() {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	if err := s.flush(ctx); err != nil && !s.retrying() {
		s.m.log.Error("snapshot write failed", "session", s.rec.ID, "err", err)
	}
}

// retrying reports whether a failed write has a retry armed.
func (s *Session) retrying() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retry.backoff > 0
}

// flush writes the workspace if it changed since the last write. A failed
// write leaves the session dirty and arms a retry (see retryLocked).
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
	data, err := s.snapshotLocked()
	rec := s.rec
	same := bytes.Equal(data, s.lastSaved)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("snapshot session %s: %w", rec.ID, err)
	}
	if !same {
		gen, err := s.m.store.PutSnapshot(ctx, rec.ID, persist.Fence{Node: s.m.node, Epoch: rec.Epoch}, persist.Seal(data))
		if err != nil {
			s.mu.Lock()
			s.dirty = true
			s.retryLocked(err)
			s.mu.Unlock()
			return fmt.Errorf("snapshot session %s: %w", rec.ID, err)
		}
		s.mu.Lock()
		s.lastSaved = data
		s.savedLocked()
		s.mu.Unlock()
		if s.m.onSnapshot != nil {
			s.m.onSnapshot(Saved{SessionID: rec.ID, Owner: rec.Owner, Name: rec.Name, Gen: gen, Data: data})
		}
	}
	s.recordIfChanged()
	return nil
}

// retryLocked arms the next write after a failed one, 100 ms doubling to
// 5 s, and shows SaveWarning. A write that can never succeed is not
// retried: the session moved to another owner (ErrLeaseLost), its record
// is gone (ErrNotFound: its account was deleted), or it ended. Caller
// holds mu.
func (s *Session) retryLocked(err error) {
	if s.rec.State == persist.StateEnded || errors.Is(err, persist.ErrLeaseLost) || errors.Is(err, persist.ErrNotFound) {
		s.retry.backoff = 0 // no longer retrying: the warning would lie
		if s.ws.Notice == SaveWarning {
			s.ws.Notice = ""
			s.renderLocked()
		}
		return
	}
	first := s.retry.backoff == 0
	s.retry.backoff = min(max(2*s.retry.backoff, retryFirst), retryMax)
	if s.flushing != nil { // a change during the failed write armed the debounce
		s.flushing.Stop()
	}
	s.flushing = s.m.clock.AfterFunc(s.retry.backoff, s.flushInBackground)
	if first || s.ws.Notice == "" {
		s.ws.Notice = SaveWarning
	}
	s.renderLocked()
	if first {
		s.m.log.Warn("snapshot writes failing; retrying", "session", s.rec.ID, "err", err)
	}
}

// savedLocked ends a run of failed writes: the warning goes and the logs
// say so. Caller holds mu.
func (s *Session) savedLocked() {
	if s.retry.backoff == 0 {
		return
	}
	s.retry.backoff = 0
	if s.ws.Notice == SaveWarning {
		s.ws.Notice = ""
	}
	s.renderLocked()
	s.m.log.Info("snapshot writes succeed again", "session", s.rec.ID)
}

// loadWorkspace restores the newest readable snapshot generation. A
// generation that fails its checksum or does not decode is reported (log,
// history, a notice on the user's screen), set aside in the store's
// quarantine so later saves never prune it, and the previous one is
// tried; nothing is loaded silently (SPEC §5). When no generation is
// readable the session starts from a new workspace that says so. It
// returns ErrNotFound only when there is no snapshot at all. rec carries
// the epoch the caller just took.
func (m *Manager) loadWorkspace(ctx context.Context, rec persist.Session, env tui.Env) (*tui.Workspace, error) {
	snaps, err := m.store.Snapshots(ctx, rec.ID)
	if err != nil {
		return nil, err
	}
	var errs []error
	var bad []persist.Snapshot
	for _, snap := range snaps {
		payload, err := persist.Open(snap.Data)
		if err == nil {
			var ws *tui.Workspace
			if ws, err = tui.Restore(m.reg, env, payload); err == nil {
				if len(errs) > 0 {
					kept := m.quarantine(ctx, rec, bad, errs)
					m.log.Error("snapshot generations unreadable; restored an older one",
						"session", rec.ID, "restored_gen", snap.Gen, "err", errors.Join(errs...))
					m.event(rec.ID, "restored", "system", "", fmt.Sprintf("fell back to generation %d: %v; %s", snap.Gen, errors.Join(errs...), kept))
					ws.Notice = NoticeOlder
				}
				return ws, nil
			}
		}
		errs = append(errs, fmt.Errorf("generation %d: %w", snap.Gen, err))
		bad = append(bad, snap)
	}
	if len(errs) == 0 {
		return nil, persist.ErrNotFound
	}
	kept := m.quarantine(ctx, rec, bad, errs)
	m.log.Error("no readable snapshot; starting an empty workspace", "session", rec.ID, "err", errors.Join(errs...))
	m.event(rec.ID, "restored", "system", "", "no readable snapshot: "+errors.Join(errs...).Error()+"; "+kept)
	ws := tui.New(m.reg, env)
	ws.Notice = NoticeUnreadable
	return ws, nil
}

// quarantine sets unreadable generations aside (errs[i] says why bad[i]
// failed) and returns a sentence for the history saying where they are.
func (m *Manager) quarantine(ctx context.Context, rec persist.Session, bad []persist.Snapshot, errs []error) string {
	f := persist.Fence{Node: m.node, Epoch: rec.Epoch}
	var kept []string
	for i, snap := range bad {
		if err := m.store.QuarantineSnapshot(ctx, rec.ID, f, snap.Gen, errs[i].Error()); err != nil {
			m.log.Error("quarantine an unreadable snapshot", "session", rec.ID, "gen", snap.Gen, "err", err)
			continue
		}
		kept = append(kept, fmt.Sprint(snap.Gen))
	}
	if len(kept) == 0 {
		return "the unreadable generations could not be set aside"
	}
	return "generation(s) " + strings.Join(kept, ", ") + " kept in quarantine"
}
