package sqlite

import (
	"context"
	"database/sql"

	"termhost/persist"
)

// PostChat implements persist.Chat.
func (s *Store) PostChat(ctx context.Context, m persist.ChatMessage) (persist.ChatMessage, error) {
	if m.At.IsZero() {
		m.At = s.now()
	}
	m.At = m.At.UTC().Truncate(1e6)
	err := s.db.QueryRowContext(ctx, `INSERT INTO chat(room, user, text, at) VALUES(?,?,?,?) RETURNING seq`,
		m.Room, m.User, m.Text, ms(m.At)).Scan(&m.Seq)
	return m, err
}

// ChatHistory implements persist.Chat.
func (s *Store) ChatHistory(ctx context.Context, room string, before int64, limit int) ([]persist.ChatMessage, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, room, user, text, at FROM (
		SELECT seq, room, user, text, at FROM chat WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?) ORDER BY seq`, room, before, limit)
	if err != nil {
		return nil, err
	}
	return scanChat(rows)
}

// ChatSince implements persist.Chat.
func (s *Store) ChatSince(ctx context.Context, after int64, limit int) ([]persist.ChatMessage, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, room, user, text, at FROM chat WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	return scanChat(rows)
}

func scanChat(rows *sql.Rows) ([]persist.ChatMessage, error) {
	defer rows.Close()
	var out []persist.ChatMessage
	for rows.Next() {
		var m persist.ChatMessage
		var at int64
		if err := rows.Scan(&m.Seq, &m.Room, &m.User, &m.Text, &at); err != nil {
			return nil, err
		}
		m.At = fromMS(at)
		out = append(out, m)
	}
	return out, rows.Err()
}
