package memory

import (
	"context"
	"slices"

	"termhost/persist"
)

// AppendAudit implements persist.Audit; the newest 10,000 entries are kept.
func (s *Store) AppendAudit(ctx context.Context, e persist.AuditEntry) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	if e.At.IsZero() {
		e.At = s.db.now()
	}
	e.At = ms(e.At)
	s.db.audit = trimFront(append(s.db.audit, e), maxAudit)
	return nil
}

// AuditLog implements persist.Audit, newest first.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]persist.AuditEntry, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	var out []persist.AuditEntry
	for _, e := range slices.Backward(s.db.audit) {
		if len(out) >= limit {
			break
		}
		out = append(out, e)
	}
	return out, nil
}

// PostChat implements persist.Chat; the newest 50,000 messages of all
// rooms are kept, and Seq keeps increasing.
func (s *Store) PostChat(ctx context.Context, m persist.ChatMessage) (persist.ChatMessage, error) {
	if err := s.lock(); err != nil {
		return m, err
	}
	defer s.unlock()
	if m.At.IsZero() {
		m.At = s.db.now()
	}
	m.At = ms(m.At)
	s.db.chatSeq++
	m.Seq = s.db.chatSeq
	s.db.chat = trimFront(append(s.db.chat, m), maxChat)
	return m, nil
}

// ChatHistory implements persist.Chat: up to limit messages of room with
// Seq < before (0: the newest), oldest first.
func (s *Store) ChatHistory(ctx context.Context, room string, before int64, limit int) ([]persist.ChatMessage, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	if before <= 0 {
		before = 1<<63 - 1
	}
	var out []persist.ChatMessage
	for _, m := range slices.Backward(s.db.chat) {
		if len(out) >= limit {
			break
		}
		if m.Room == room && m.Seq < before {
			out = append(out, m)
		}
	}
	slices.Reverse(out)
	return out, nil
}

// ChatSince implements persist.Chat: up to limit messages with Seq >
// after, oldest first.
func (s *Store) ChatSince(ctx context.Context, after int64, limit int) ([]persist.ChatMessage, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	i, _ := slices.BinarySearchFunc(s.db.chat, after+1, func(m persist.ChatMessage, seq int64) int {
		return int(m.Seq - seq)
	})
	end := min(len(s.db.chat), i+max(limit, 0))
	return slices.Clone(s.db.chat[i:end]), nil
}
