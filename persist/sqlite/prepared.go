package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// The statements of a debounced snapshot write (PutSnapshot) and of the
// record written with it (UpdateSession), prepared once at Open. This
// driver compiles a statement in about 70 µs, which was a third of a
// snapshot write's CPU (BENCHMARKS "Web terminal": a key that arrives
// during a write waits for a core).
const (
	qEpoch  = `SELECT epoch FROM sessions WHERE id = ?`
	qNewGen = `SELECT MAX(
		(SELECT COALESCE(MAX(gen), 0) FROM snapshots WHERE session_id = ?1),
		(SELECT COALESCE(MAX(gen), 0) FROM snapshot_quarantine WHERE session_id = ?1)) + 1`
	qInsertSnapshot = `INSERT INTO snapshots(session_id, gen, epoch, data, written_at) VALUES(?,?,?,?,?)`
	qPruneSnapshots = `DELETE FROM snapshots WHERE session_id = ? AND gen <= ?`
	qUpdateSession  = `UPDATE sessions SET name = ?, state = ?, last_input_at = ?, ended_at = ?, end_reason = ?, detached_at = ?, apps = ?, attachments = ? WHERE id = ? AND epoch = ?`
)

// prepared holds the statements above. They are prepared outside any
// transaction: the pool has one connection, so preparing inside one would
// wait for itself; a transaction uses them through tx.StmtContext, which
// reuses the connection's prepared copy.
type prepared struct {
	epoch, newGen, insertSnapshot, pruneSnapshots, updateSession *sql.Stmt
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&s.stmts.epoch, qEpoch},
		{&s.stmts.newGen, qNewGen},
		{&s.stmts.insertSnapshot, qInsertSnapshot},
		{&s.stmts.pruneSnapshots, qPruneSnapshots},
		{&s.stmts.updateSession, qUpdateSession},
	} {
		st, err := s.db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("prepare %.40q: %w", p.query, err)
		}
		*p.dst = st
	}
	return nil
}

// close closes the statements that were prepared.
func (p *prepared) close() {
	for _, st := range []*sql.Stmt{p.epoch, p.newGen, p.insertSnapshot, p.pruneSnapshots, p.updateSession} {
		if st != nil {
			st.Close()
		}
	}
}
