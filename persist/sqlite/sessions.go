package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"termhost/persist"
)

const sessionCols = `id, owner, name, state, node, created_at, last_input_at, ended_at, end_reason, detached_at, epoch, apps, attachments`

// CreateSession implements persist.Sessions. The cap check and the insert
// run in one immediate transaction, which holds SQLite's write lock, so
// concurrent creates through any number of handles never exceed
// maxPerOwner (SPEC §6). Errors: ErrLimit, ErrExists (wrapped).
func (s *Store) CreateSession(ctx context.Context, r persist.Session, maxPerOwner int) error {
	apps, _ := json.Marshal(nonNil(r.Apps))
	atts, _ := json.Marshal(nonNil(r.Attachments))
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if maxPerOwner > 0 {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE owner = ? AND state <> 'ended'`, r.Owner).Scan(&n); err != nil {
			return err
		}
		if n >= maxPerOwner {
			return fmt.Errorf("session %q of %s: %d live (cap %d): %w", r.Name, r.Owner, n, maxPerOwner, persist.ErrLimit)
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO sessions(`+sessionCols+`) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.ID, r.Owner, r.Name, r.State, r.Node, ms(r.CreatedAt), ms(r.LastInputAt), ms(r.EndedAt), r.EndReason, ms(r.DetachedAt), r.Epoch, string(apps), string(atts))
	if isUnique(err) {
		return fmt.Errorf("session %q of %s: %w", r.Name, r.Owner, persist.ErrExists)
	}
	if err != nil {
		return err
	}
	return tx.Commit()
}

// GetSession implements persist.Sessions.
func (s *Store) GetSession(ctx context.Context, id string) (persist.Session, error) {
	r, err := scanSession(s.db.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("session %q: %w", id, persist.ErrNotFound)
	}
	return r, err
}

// ListSessions implements persist.Sessions.
func (s *Store) ListSessions(ctx context.Context, f persist.SessionFilter) ([]persist.Session, error) {
	// Only the filters that are set go into the query, so SQLite can use
	// the owner and state indexes.
	var where []string
	var args []any
	if f.Owner != "" {
		where, args = append(where, "owner = ?"), append(args, f.Owner)
	}
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, f.State)
	} else if !f.IncludeEnd {
		where = append(where, "state <> 'ended'")
	}
	if !f.DetachedBefore.IsZero() {
		where, args = append(where, "detached_at > 0 AND detached_at <= ?"), append(args, ms(f.DetachedBefore))
	}
	if !f.CreatedBefore.IsZero() {
		where, args = append(where, "created_at <= ?"), append(args, ms(f.CreatedBefore))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	// The count sizes the result once: at 100,000 sessions growing the
	// slice (copies and the garbage they leave) was ≈ 30 % of the scan's
	// CPU in a profile (issue 10).
	// It is a hint; rows added in between still fit.
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM sessions`+cond, args...).Scan(&n); err != nil {
		return nil, err
	}
	// A listing of everyone's sessions walks sessions_created in its order:
	// SQLite's planner would rather sort the whole table, which took twice
	// as long at 100,000 sessions (issue 10). Listings of one owner and the
	// sweep's due sessions keep their narrower indexes.
	from := ` FROM sessions`
	if f.Owner == "" && f.DetachedBefore.IsZero() {
		from += ` INDEXED BY sessions_created`
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionCols+from+cond+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]persist.Session, 0, n)
	var d sessionDecoder
	for rows.Next() {
		r, err := d.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// UpdateSession implements persist.Sessions: fenced by r.Epoch; Node is
// not written (AcquireLease sets it).
func (s *Store) UpdateSession(ctx context.Context, r persist.Session) error {
	apps, _ := json.Marshal(nonNil(r.Apps))
	atts, _ := json.Marshal(nonNil(r.Attachments))
	res, err := s.stmts.updateSession.ExecContext(ctx,
		r.Name, r.State, ms(r.LastInputAt), ms(r.EndedAt), r.EndReason, ms(r.DetachedAt), string(apps), string(atts), r.ID, r.Epoch)
	if isUnique(err) {
		return fmt.Errorf("session name %q of %s: %w", r.Name, r.Owner, persist.ErrExists)
	}
	return s.fenced(ctx, res, err, r.ID, r.Epoch)
}

// fenced turns "no row changed" into ErrNotFound or ErrLeaseLost.
func (s *Store) fenced(ctx context.Context, res sql.Result, err error, id string, epoch int64) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	cur, err := s.GetSession(ctx, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("session %s: epoch %d, store has %d: %w", id, epoch, cur.Epoch, persist.ErrLeaseLost)
}

// AppendEvent implements persist.Sessions. The insert and the check that
// the session row exists are one statement, so an event racing DeleteUser
// (a reconnect after `user del`) is refused with ErrNotFound instead of
// leaving an orphan history row (issue 8).
func (s *Store) AppendEvent(ctx context.Context, e persist.Event) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO session_events(session_id, at, kind, actor, remote, detail)
		SELECT ?,?,?,?,?,? WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?)`,
		e.SessionID, ms(e.At), e.Kind, e.Actor, e.Remote, e.Detail, e.SessionID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("append event %q to session %q: %w", e.Kind, e.SessionID, persist.ErrNotFound)
	}
	return nil
}

// Events implements persist.Sessions.
func (s *Store) Events(ctx context.Context, id string) ([]persist.Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT at, kind, actor, remote, detail FROM session_events WHERE session_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []persist.Event
	for rows.Next() {
		e := persist.Event{SessionID: id}
		var at int64
		if err := rows.Scan(&at, &e.Kind, &e.Actor, &e.Remote, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

func scanSession(r scanner) (persist.Session, error) {
	var d sessionDecoder
	return d.scan(r)
}

// sessionDecoder scans the session rows of one query: the apps summaries
// go through one persist.AppsDecoder, which decodes each distinct text
// once (as the PostgreSQL store does).
type sessionDecoder struct {
	apps persist.AppsDecoder
}

func (d *sessionDecoder) scan(r scanner) (persist.Session, error) {
	var x persist.Session
	var created, last, ended, detached int64
	var apps, atts string
	if err := r.Scan(&x.ID, &x.Owner, &x.Name, &x.State, &x.Node, &created, &last, &ended, &x.EndReason, &detached, &x.Epoch, &apps, &atts); err != nil {
		return x, err
	}
	x.CreatedAt, x.LastInputAt, x.EndedAt, x.DetachedAt = fromMS(created), fromMS(last), fromMS(ended), fromMS(detached)
	var err error
	if x.Apps, err = d.apps.Decode(apps); err != nil {
		return x, fmt.Errorf("session %s apps: %w", x.ID, err)
	}
	if x.Attachments, err = persist.DecodeAttachments(atts); err != nil {
		return x, fmt.Errorf("session %s attachments: %w", x.ID, err)
	}
	return x, nil
}
