package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"termhost/persist"
)

const sessionCols = `id, owner, name, state, node, created_at, last_input_at, ended_at, end_reason, detached_at, epoch, apps, attachments`

// ownerLock is the advisory-lock name of a user's session creations: the
// cap check and the insert are one step on every node (SPEC §6).
func ownerLock(owner string) string { return "termhost.sessions_of." + owner }

// CreateSession implements persist.Sessions. With maxPerOwner > 0 the
// count and the insert run in one transaction under an advisory lock on
// the owner, so concurrent creates on any number of nodes never exceed the
// cap. Errors: ErrLimit, ErrExists (wrapped).
func (s *Store) CreateSession(ctx context.Context, r persist.Session, maxPerOwner int) error {
	if maxPerOwner <= 0 {
		return insertSession(ctx, s.pool, r)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+advisoryKey+`)`, ownerLock(r.Owner)); err != nil {
			return wrap(err, "session cap lock of %s", r.Owner)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM sessions WHERE owner = $1 AND state <> 'ended'`, r.Owner).Scan(&n); err != nil {
			return wrap(err, "count sessions of %s", r.Owner)
		}
		if n >= maxPerOwner {
			return fmt.Errorf("session %q of %s: %d live (cap %d): %w", r.Name, r.Owner, n, maxPerOwner, persist.ErrLimit)
		}
		return insertSession(ctx, tx, r)
	})
}

func insertSession(ctx context.Context, db querier, r persist.Session) error {
	apps, _ := json.Marshal(nonNil(r.Apps))
	atts, _ := json.Marshal(nonNil(r.Attachments))
	_, err := db.Exec(ctx, `INSERT INTO sessions(`+sessionCols+`) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
		r.ID, r.Owner, r.Name, r.State, r.Node, ms(r.CreatedAt), ms(r.LastInputAt), ms(r.EndedAt), r.EndReason,
		ms(r.DetachedAt), r.Epoch, string(apps), string(atts))
	return wrap(err, "session %q of %s", r.Name, r.Owner)
}

// GetSession implements persist.Sessions. ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (persist.Session, error) {
	r, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = $1`, id))
	return r, wrap(err, "session %q", id)
}

// ListSessions implements persist.Sessions, ordered by creation. Only the
// filters that are set go into the query, so the planner can use the
// owner and state indexes.
func (s *Store) ListSessions(ctx context.Context, f persist.SessionFilter) ([]persist.Session, error) {
	var where []string
	var args []any
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Owner != "" {
		arg("owner = ?", f.Owner)
	}
	if f.State != "" {
		arg("state = ?", f.State)
	} else if !f.IncludeEnd {
		where = append(where, "state <> 'ended'")
	}
	if !f.DetachedBefore.IsZero() {
		arg("detached_at > 0 AND detached_at <= ?", ms(f.DetachedBefore))
	}
	if !f.CreatedBefore.IsZero() {
		arg("created_at <= ?", ms(f.CreatedBefore))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	// The count rides in the same round trip and sizes the result once:
	// at 100,000 sessions, growing the slice (and the garbage it left) cost
	// a third of the call. It is a hint; rows added in between still fit.
	batch := &pgx.Batch{}
	batch.Queue(`SELECT count(*) FROM sessions`+cond, args...)
	batch.Queue(`SELECT `+sessionCols+` FROM sessions`+cond+` ORDER BY created_at, id`, args...)
	br := s.pool.SendBatch(ctx, batch)
	defer br.Close()
	var n int
	if err := br.QueryRow().Scan(&n); err != nil {
		return nil, wrap(err, "count sessions")
	}
	rows, err := br.Query()
	if err != nil {
		return nil, wrap(err, "list sessions")
	}
	defer rows.Close()
	var d sessionDecoder
	out := make([]persist.Session, 0, n)
	for rows.Next() {
		r, err := d.scan(rows)
		if err != nil {
			return nil, wrap(err, "list sessions")
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "list sessions")
	}
	return out, nil
}

// UpdateSession implements persist.Sessions: fenced by r.Epoch (one
// statement: the epoch check and the write cannot be split by a steal);
// Node is not written (AcquireLease sets it). ErrLeaseLost, ErrNotFound,
// ErrExists (a rename onto a live name).
func (s *Store) UpdateSession(ctx context.Context, r persist.Session) error {
	apps, _ := json.Marshal(nonNil(r.Apps))
	atts, _ := json.Marshal(nonNil(r.Attachments))
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET name = $1, state = $2, last_input_at = $3, ended_at = $4, end_reason = $5,
		detached_at = $6, apps = $7, attachments = $8 WHERE id = $9 AND epoch = $10`,
		r.Name, r.State, ms(r.LastInputAt), ms(r.EndedAt), r.EndReason, ms(r.DetachedAt), string(apps), string(atts), r.ID, r.Epoch)
	if err != nil {
		return wrap(err, "session %s name %q of %s", r.ID, r.Name, r.Owner)
	}
	return s.fenced(ctx, tag.RowsAffected(), r.ID, r.Epoch)
}

// fenced turns "no row changed" into ErrNotFound or ErrLeaseLost.
func (s *Store) fenced(ctx context.Context, n int64, id string, epoch int64) error {
	if n > 0 {
		return nil
	}
	var cur int64
	if err := s.pool.QueryRow(ctx, `SELECT epoch FROM sessions WHERE id = $1`, id).Scan(&cur); err != nil {
		return wrap(err, "session %q", id)
	}
	return fmt.Errorf("session %s: epoch %d, store has %d: %w", id, epoch, cur, persist.ErrLeaseLost)
}

// AppendEvent implements persist.Sessions; a zero At is the Store's now.
func (s *Store) AppendEvent(ctx context.Context, e persist.Event) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO session_events(session_id, at, kind, actor, remote, detail) VALUES($1,$2,$3,$4,$5,$6)`,
		e.SessionID, ms(e.At), e.Kind, e.Actor, e.Remote, e.Detail)
	return wrap(err, "event %s of session %s", e.Kind, e.SessionID)
}

// Events implements persist.Sessions, in the order they were appended.
func (s *Store) Events(ctx context.Context, id string) ([]persist.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, kind, actor, remote, detail FROM session_events WHERE session_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, wrap(err, "events of session %s", id)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (persist.Event, error) {
		e := persist.Event{SessionID: id}
		var at int64
		err := r.Scan(&at, &e.Kind, &e.Actor, &e.Remote, &e.Detail)
		e.At = fromMS(at)
		return e, err
	})
	return out, wrap(err, "events of session %s", id)
}

func scanSession(r pgx.Row) (persist.Session, error) {
	var d sessionDecoder
	return d.scan(r)
}

// sessionDecoder scans the session rows of one query: the apps summaries
// go through one persist.AppsDecoder, which decodes each distinct text
// once.
type sessionDecoder struct {
	apps persist.AppsDecoder
}

func (d *sessionDecoder) scan(r pgx.Row) (persist.Session, error) {
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
