package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"termhost/persist"
)

// errNoOwner refuses a lease for nobody: a zero Owner is what a released
// lease stores.
var errNoOwner = errors.New("lease owner is empty")

// AcquireLease implements persist.Leases (SPEC §6). Expiry is judged by
// the Store's clock (s.now: one process, one clock). The read and the
// write run in one immediate transaction, so two handles racing for a free
// lease cannot both win. Errors: ErrNotFound; ErrLeaseHeld (wrapped) with
// the holder's Lease.
func (s *Store) AcquireLease(ctx context.Context, id string, o persist.Owner, ttl time.Duration) (persist.Lease, error) {
	if o.IsZero() {
		return persist.Lease{}, fmt.Errorf("acquire lease on %s: %w", id, errNoOwner)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return persist.Lease{}, err
	}
	defer tx.Rollback()
	cur := persist.Lease{SessionID: id}
	var expires int64
	err = tx.QueryRowContext(ctx, `SELECT lease_node, lease_boot, lease_expires, epoch FROM sessions WHERE id = ?`, id).
		Scan(&cur.Owner.Node, &cur.Owner.Boot, &expires, &cur.Epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return persist.Lease{}, fmt.Errorf("acquire lease on %q: %w", id, persist.ErrNotFound)
	}
	if err != nil {
		return persist.Lease{}, err
	}
	cur.Expires = fromMS(expires)
	now := s.now()
	same := cur.Owner == o // a released lease has a zero owner, never o
	if !same && !cur.Owner.IsZero() && expires > now.UnixMilli() {
		return cur, fmt.Errorf("session %s held by %s until %s: %w", id, cur.Owner, cur.Expires.Format(time.RFC3339Nano), persist.ErrLeaseHeld)
	}
	epoch := cur.Epoch
	if !same {
		epoch++
	}
	until := now.Add(ttl).UnixMilli()
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET lease_node = ?, lease_boot = ?, lease_expires = ?, epoch = ?, node = ? WHERE id = ?`,
		o.Node, o.Boot, until, epoch, o.Node, id); err != nil {
		return persist.Lease{}, err
	}
	if err := tx.Commit(); err != nil {
		return persist.Lease{}, err
	}
	return persist.Lease{SessionID: id, Owner: o, Epoch: epoch, Expires: fromMS(until)}, nil
}

// RenewLeases implements persist.Leases: one UPDATE … RETURNING extends
// every lease o holds (expired or not, as long as nobody took it) to the
// Store's now + ttl. The answer is ordered by session id.
func (s *Store) RenewLeases(ctx context.Context, o persist.Owner, ttl time.Duration) ([]persist.Lease, error) {
	if o.IsZero() {
		return nil, fmt.Errorf("renew leases: %w", errNoOwner)
	}
	until := s.now().Add(ttl).UnixMilli()
	rows, err := s.db.QueryContext(ctx, `UPDATE sessions SET lease_expires = ? WHERE lease_node = ? AND lease_boot = ? RETURNING id, epoch`,
		until, o.Node, o.Boot)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []persist.Lease
	for rows.Next() {
		l := persist.Lease{Owner: o, Expires: fromMS(until)}
		if err := rows.Scan(&l.SessionID, &l.Epoch); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b persist.Lease) int { return cmp.Compare(a.SessionID, b.SessionID) })
	return out, nil
}

// ReleaseLease implements persist.Leases: fenced by f.Epoch; the owner is
// cleared, the epoch kept (the next acquire bumps it). ErrLeaseLost,
// ErrNotFound.
func (s *Store) ReleaseLease(ctx context.Context, id string, f persist.Fence) error {
	res, err := s.db.ExecContext(ctx, `UPDATE sessions SET lease_node = '', lease_boot = '', lease_expires = 0 WHERE id = ? AND epoch = ?`, id, f.Epoch)
	return s.fenced(ctx, res, err, id, f.Epoch)
}

// GetLease implements persist.Leases. ErrNotFound.
func (s *Store) GetLease(ctx context.Context, id string) (persist.Lease, error) {
	l := persist.Lease{SessionID: id}
	var expires int64
	err := s.db.QueryRowContext(ctx, `SELECT lease_node, lease_boot, lease_expires, epoch FROM sessions WHERE id = ?`, id).
		Scan(&l.Owner.Node, &l.Owner.Boot, &expires, &l.Epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("lease of %q: %w", id, persist.ErrNotFound)
	}
	l.Expires = fromMS(expires)
	return l, err
}

// Heartbeat implements persist.Nodes: an upsert keyed by n.ID with Seen =
// the Store's now.
func (s *Store) Heartbeat(ctx context.Context, n persist.Node) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO nodes(id, boot, addr, started_at, seen_at, draining, stopped) VALUES(?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET boot = excluded.boot, addr = excluded.addr, started_at = excluded.started_at,
			seen_at = excluded.seen_at, draining = excluded.draining, stopped = excluded.stopped`,
		n.ID, n.Boot, n.Addr, ms(n.Started), s.now().UnixMilli(), n.Draining, n.Stopped)
	return err
}

// ListNodes implements persist.Nodes, ordered by ID.
func (s *Store) ListNodes(ctx context.Context) ([]persist.Node, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, boot, addr, started_at, seen_at, draining, stopped FROM nodes ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []persist.Node
	for rows.Next() {
		var n persist.Node
		var started, seen int64
		if err := rows.Scan(&n.ID, &n.Boot, &n.Addr, &started, &seen, &n.Draining, &n.Stopped); err != nil {
			return nil, err
		}
		n.Started, n.Seen = fromMS(started), fromMS(seen)
		out = append(out, n)
	}
	return out, rows.Err()
}

// PostRequest implements persist.Requests: ID from the table's
// autoincrement, At from the Store's clock.
func (s *Store) PostRequest(ctx context.Context, r persist.Request) (persist.Request, error) {
	r.At = fromMS(s.now().UnixMilli())
	err := s.db.QueryRowContext(ctx, `INSERT INTO node_requests(node, kind, session_id, actor, remote, detail, at) VALUES(?,?,?,?,?,?,?) RETURNING id`,
		r.Node, r.Kind, r.SessionID, r.Actor, r.Remote, r.Detail, ms(r.At)).Scan(&r.ID)
	return r, err
}

// TakeRequests implements persist.Requests: one DELETE … RETURNING, so
// each request goes to exactly one caller; oldest (lowest ID) first.
func (s *Store) TakeRequests(ctx context.Context, node string) ([]persist.Request, error) {
	rows, err := s.db.QueryContext(ctx, `DELETE FROM node_requests WHERE node = ? RETURNING id, node, kind, session_id, actor, remote, detail, at`, node)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []persist.Request
	for rows.Next() {
		var r persist.Request
		var at int64
		if err := rows.Scan(&r.ID, &r.Node, &r.Kind, &r.SessionID, &r.Actor, &r.Remote, &r.Detail, &at); err != nil {
			return nil, err
		}
		r.At = fromMS(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b persist.Request) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// EnsureSecret implements persist.Secrets: insert-if-absent and read back
// in one immediate transaction, so the first writer wins on every handle.
func (s *Store) EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO secrets(name, value, created_at) VALUES(?,?,?) ON CONFLICT(name) DO NOTHING`,
		name, nonNil(value), s.now().UnixMilli()); err != nil {
		return nil, err
	}
	var stored []byte
	if err := tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&stored); err != nil {
		return nil, err
	}
	return stored, tx.Commit()
}
