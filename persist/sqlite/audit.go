package sqlite

import (
	"context"

	"termhost/persist"
)

// AppendAudit implements persist.Audit.
func (s *Store) AppendAudit(ctx context.Context, e persist.AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit(at, actor, action, target, detail) VALUES(?,?,?,?,?)`,
		ms(e.At), e.Actor, e.Action, e.Target, e.Detail)
	return err
}

// AuditLog implements persist.Audit, newest first.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]persist.AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT at, actor, action, target, detail FROM audit ORDER BY seq DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []persist.AuditEntry
	for rows.Next() {
		var e persist.AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
