package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"termhost/persist"
)

// PostChat implements persist.Chat: Seq comes from the table's sequence,
// global and increasing across nodes.
func (s *Store) PostChat(ctx context.Context, m persist.ChatMessage) (persist.ChatMessage, error) {
	if m.At.IsZero() {
		m.At = s.now()
	}
	m.At = m.At.UTC().Truncate(1e6)
	err := s.pool.QueryRow(ctx, `INSERT INTO chat(room, user_name, text, at) VALUES($1,$2,$3,$4) RETURNING seq`,
		m.Room, m.User, m.Text, ms(m.At)).Scan(&m.Seq)
	return m, wrap(err, "chat line in %s", m.Room)
}

// ChatHistory implements persist.Chat: up to limit lines of room before
// seq before (0: the newest), oldest first.
func (s *Store) ChatHistory(ctx context.Context, room string, before int64, limit int) ([]persist.ChatMessage, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, room, user_name, text, at FROM (
		SELECT seq, room, user_name, text, at FROM chat WHERE room = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3) AS newest ORDER BY seq`,
		room, before, limit)
	return scanChat(rows, err, room)
}

// ChatSince implements persist.Chat: every room, oldest first.
func (s *Store) ChatSince(ctx context.Context, after int64, limit int) ([]persist.ChatMessage, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, room, user_name, text, at FROM chat WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	return scanChat(rows, err, "every room")
}

func scanChat(rows pgx.Rows, err error, what string) ([]persist.ChatMessage, error) {
	if err != nil {
		return nil, wrap(err, "chat of %s", what)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (persist.ChatMessage, error) {
		var m persist.ChatMessage
		var at int64
		err := r.Scan(&m.Seq, &m.Room, &m.User, &m.Text, &at)
		m.At = fromMS(at)
		return m, err
	})
	return out, wrap(err, "chat of %s", what)
}
