package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"termhost/persist"
)

// AppendAudit implements persist.Audit; a zero At is the Store's now.
func (s *Store) AppendAudit(ctx context.Context, e persist.AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO audit(at, actor, action, target, detail) VALUES($1,$2,$3,$4,$5)`,
		ms(e.At), e.Actor, e.Action, e.Target, e.Detail)
	return wrap(err, "audit %s by %s", e.Action, e.Actor)
}

// AuditLog implements persist.Audit, newest first.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]persist.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, actor, action, target, detail FROM audit ORDER BY seq DESC LIMIT $1`, limit)
	if err != nil {
		return nil, wrap(err, "audit log")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (persist.AuditEntry, error) {
		var e persist.AuditEntry
		var at int64
		err := r.Scan(&at, &e.Actor, &e.Action, &e.Target, &e.Detail)
		e.At = fromMS(at)
		return e, err
	})
	return out, wrap(err, "audit log")
}
