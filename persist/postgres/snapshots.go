package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"termhost/persist"
)

// PutSnapshot implements persist.Snapshots in one round trip: the stored
// function termhost_put_snapshot (migration 008) locks the session row
// (FOR NO KEY UPDATE) while it checks the fence, so a steal (AcquireLease
// bumps the epoch on that row) waits for this write or refuses it, never
// lets it land after; writers of one session are serialised, so generation
// numbers do not collide. The insert and the pruning share the statement's
// transaction. ErrLeaseLost, ErrNotFound.
func (s *Store) PutSnapshot(ctx context.Context, id string, f persist.Fence, data []byte) (int64, error) {
	var found bool
	var epoch, gen *int64
	err := s.pool.QueryRow(ctx, `SELECT o_found, o_epoch, o_gen FROM termhost_put_snapshot($1, $2, $3, $4)`,
		id, f.Epoch, nonNil(data), keepGenerations).Scan(&found, &epoch, &gen)
	switch {
	case err != nil:
		return 0, wrap(err, "snapshot of session %s", id)
	case !found:
		return 0, fmt.Errorf("snapshot of session %q: %w", id, persist.ErrNotFound)
	case gen == nil:
		return 0, fmt.Errorf("snapshot of session %s by %s: epoch %d, store has %d: %w", id, f.Node, f.Epoch, *epoch, persist.ErrLeaseLost)
	}
	return *gen, nil
}

// checkFence locks the session row and fails with ErrLeaseLost unless its
// epoch is f's; ErrNotFound when there is no such session.
func checkFence(ctx context.Context, tx pgx.Tx, id string, f persist.Fence) error {
	var epoch int64
	err := tx.QueryRow(ctx, `SELECT epoch FROM sessions WHERE id = $1 FOR NO KEY UPDATE`, id).Scan(&epoch)
	if err != nil {
		return wrap(err, "snapshot of session %q", id)
	}
	if epoch != f.Epoch {
		return fmt.Errorf("snapshot of session %s by %s: epoch %d, store has %d: %w", id, f.Node, f.Epoch, epoch, persist.ErrLeaseLost)
	}
	return nil
}

// QuarantineSnapshot implements persist.Snapshots: the copy and the delete
// run in one transaction with the fence check. ErrNotFound, ErrLeaseLost.
func (s *Store) QuarantineSnapshot(ctx context.Context, id string, f persist.Fence, gen int64, reason string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := checkFence(ctx, tx, id, f); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO snapshot_quarantine(session_id, gen, epoch, data, written_at, quarantined_at, reason)
			SELECT session_id, gen, epoch, data, written_at, termhost_now_ms(), $1 FROM snapshots WHERE session_id = $2 AND gen = $3`,
			reason, id, gen)
		if err := oneRow(tag, err, "snapshot generation", fmt.Sprintf("%s/%d", id, gen)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM snapshots WHERE session_id = $1 AND gen = $2`, id, gen)
		return wrap(err, "quarantine %s/%d", id, gen)
	})
}

// Quarantined implements persist.Snapshots, newest first.
func (s *Store) Quarantined(ctx context.Context, id string) ([]persist.QuarantinedSnapshot, error) {
	rows, err := s.pool.Query(ctx, `SELECT gen, epoch, data, written_at, quarantined_at, reason FROM snapshot_quarantine WHERE session_id = $1 ORDER BY gen DESC`, id)
	if err != nil {
		return nil, wrap(err, "quarantined snapshots of %s", id)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (persist.QuarantinedSnapshot, error) {
		x := persist.QuarantinedSnapshot{Snapshot: persist.Snapshot{SessionID: id}}
		var written, at int64
		err := r.Scan(&x.Gen, &x.Epoch, &x.Data, &written, &at, &x.Reason)
		x.WrittenAt, x.At = fromMS(written), fromMS(at)
		return x, err
	})
	return out, wrap(err, "quarantined snapshots of %s", id)
}

// Snapshots implements persist.Snapshots, newest first.
func (s *Store) Snapshots(ctx context.Context, id string) ([]persist.Snapshot, error) {
	rows, err := s.pool.Query(ctx, `SELECT gen, epoch, data, written_at FROM snapshots WHERE session_id = $1 ORDER BY gen DESC`, id)
	if err != nil {
		return nil, wrap(err, "snapshots of %s", id)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (persist.Snapshot, error) {
		x := persist.Snapshot{SessionID: id}
		var at int64
		err := r.Scan(&x.Gen, &x.Epoch, &x.Data, &at)
		x.WrittenAt = fromMS(at)
		return x, err
	})
	return out, wrap(err, "snapshots of %s", id)
}

// PutLastWorkspace implements persist.Snapshots.
func (s *Store) PutLastWorkspace(ctx context.Context, user string, data []byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO last_workspaces(owner, data) VALUES($1, $2) ON CONFLICT(owner) DO UPDATE SET data = excluded.data`, user, nonNil(data))
	return wrap(err, "last workspace of %q", user)
}

// LastWorkspace implements persist.Snapshots. ErrNotFound.
func (s *Store) LastWorkspace(ctx context.Context, user string) ([]byte, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM last_workspaces WHERE owner = $1`, user).Scan(&data)
	return data, wrap(err, "last workspace of %q", user)
}
