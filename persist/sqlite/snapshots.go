package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"termhost/persist"
)

// PutSnapshot implements persist.Snapshots. The epoch check, the insert and
// the pruning run in one transaction, so a generation is all there or absent.
// Data goes through nonNil because the driver binds a nil []byte as NULL.
func (s *Store) PutSnapshot(ctx context.Context, id string, f persist.Fence, data []byte) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if err := s.checkFence(ctx, tx, id, f); err != nil {
		return 0, err
	}
	// Quarantined generations count too: a number is never given twice.
	var gen int64
	if err := tx.StmtContext(ctx, s.stmts.newGen).QueryRowContext(ctx, id).Scan(&gen); err != nil {
		return 0, err
	}
	if _, err := tx.StmtContext(ctx, s.stmts.insertSnapshot).ExecContext(ctx, id, gen, f.Epoch, nonNil(data), ms(s.now())); err != nil {
		return 0, err
	}
	if _, err := tx.StmtContext(ctx, s.stmts.pruneSnapshots).ExecContext(ctx, id, gen-keepGenerations); err != nil {
		return 0, err
	}
	return gen, tx.Commit()
}

// checkFence fails with ErrLeaseLost unless the session's epoch is f's.
func (s *Store) checkFence(ctx context.Context, tx *sql.Tx, id string, f persist.Fence) error {
	var epoch int64
	err := tx.StmtContext(ctx, s.stmts.epoch).QueryRowContext(ctx, id).Scan(&epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("snapshot of session %q: %w", id, persist.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if epoch != f.Epoch {
		return fmt.Errorf("snapshot of session %s by %s: epoch %d, store has %d: %w", id, f.Node, f.Epoch, epoch, persist.ErrLeaseLost)
	}
	return nil
}

// QuarantineSnapshot implements persist.Snapshots: the copy and the delete
// run in one transaction with the fence check.
func (s *Store) QuarantineSnapshot(ctx context.Context, id string, f persist.Fence, gen int64, reason string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.checkFence(ctx, tx, id, f); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO snapshot_quarantine(session_id, gen, epoch, data, written_at, quarantined_at, reason)
		SELECT session_id, gen, epoch, data, written_at, ?, ? FROM snapshots WHERE session_id = ? AND gen = ?`,
		ms(s.now()), reason, id, gen)
	if err := oneRow(res, err, "snapshot generation", fmt.Sprintf("%s/%d", id, gen)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM snapshots WHERE session_id = ? AND gen = ?`, id, gen); err != nil {
		return err
	}
	return tx.Commit()
}

// Quarantined implements persist.Snapshots.
func (s *Store) Quarantined(ctx context.Context, id string) ([]persist.QuarantinedSnapshot, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT gen, epoch, data, written_at, quarantined_at, reason FROM snapshot_quarantine WHERE session_id = ? ORDER BY gen DESC`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []persist.QuarantinedSnapshot
	for rows.Next() {
		x := persist.QuarantinedSnapshot{Snapshot: persist.Snapshot{SessionID: id}}
		var written, at int64
		if err := rows.Scan(&x.Gen, &x.Epoch, &x.Data, &written, &at, &x.Reason); err != nil {
			return nil, err
		}
		x.WrittenAt, x.At = fromMS(written), fromMS(at)
		out = append(out, x)
	}
	return out, rows.Err()
}

// Snapshots implements persist.Snapshots.
func (s *Store) Snapshots(ctx context.Context, id string) ([]persist.Snapshot, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT gen, epoch, data, written_at FROM snapshots WHERE session_id = ? ORDER BY gen DESC`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []persist.Snapshot
	for rows.Next() {
		x := persist.Snapshot{SessionID: id}
		var at int64
		if err := rows.Scan(&x.Gen, &x.Epoch, &x.Data, &at); err != nil {
			return nil, err
		}
		x.WrittenAt = fromMS(at)
		out = append(out, x)
	}
	return out, rows.Err()
}

// PutLastWorkspace implements persist.Snapshots.
func (s *Store) PutLastWorkspace(ctx context.Context, user string, data []byte) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO last_workspaces(owner, data) VALUES(?, ?) ON CONFLICT(owner) DO UPDATE SET data = excluded.data`, user, nonNil(data))
	return err
}

// LastWorkspace implements persist.Snapshots.
func (s *Store) LastWorkspace(ctx context.Context, user string) ([]byte, error) {
	var data []byte
	err := s.db.QueryRowContext(ctx, `SELECT data FROM last_workspaces WHERE owner = ?`, user).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("last workspace of %q: %w", user, persist.ErrNotFound)
	}
	return data, err
}
