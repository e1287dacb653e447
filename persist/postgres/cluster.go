package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"termhost/persist"
)

// ErrNoOwner refuses a lease for nobody: a zero Owner is what a released
// lease stores.
var ErrNoOwner = errors.New("lease owner is empty")

// acquireTries bounds AcquireLease's retries when the lease changes between
// its update and its read (released or expired in between).
const acquireTries = 3

// AcquireLease implements persist.Leases (SPEC §6). One UPDATE takes the
// lease when it is free, expired by the database clock (clock_timestamp),
// or o's already; the epoch is bumped unless o held it. Two nodes racing
// for one row are ordered by the row lock and the loser re-checks the
// winner's lease, so only one wins. Errors: ErrNotFound; ErrLeaseHeld
// (wrapped) with the holder's Lease; ErrNoOwner.
func (s *Store) AcquireLease(ctx context.Context, id string, o persist.Owner, ttl time.Duration) (persist.Lease, error) {
	if o.IsZero() {
		return persist.Lease{}, fmt.Errorf("acquire lease on %s: %w", id, ErrNoOwner)
	}
	for range acquireTries {
		l := persist.Lease{SessionID: id, Owner: o}
		var expires int64
		err := s.pool.QueryRow(ctx, `UPDATE sessions SET
				epoch = CASE WHEN lease_node = $2 AND lease_boot = $3 THEN epoch ELSE epoch + 1 END,
				lease_node = $2, lease_boot = $3, node = $2,
				lease_expires = termhost_now_ms() + $4
			WHERE id = $1 AND (lease_node = '' OR lease_expires <= termhost_now_ms() OR (lease_node = $2 AND lease_boot = $3))
			RETURNING epoch, lease_expires`, id, o.Node, o.Boot, ttl.Milliseconds()).Scan(&l.Epoch, &expires)
		if err == nil {
			l.Expires = fromMS(expires)
			return l, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return persist.Lease{}, wrap(err, "acquire lease on %s for %s", id, o)
		}
		cur, live, err := s.lease(ctx, id)
		if err != nil {
			return persist.Lease{}, err
		}
		if live {
			return cur, fmt.Errorf("session %s held by %s until %s: %w", id, cur.Owner, cur.Expires.Format(time.RFC3339Nano), persist.ErrLeaseHeld)
		}
		// Released or expired since the update looked: try again.
	}
	return persist.Lease{}, fmt.Errorf("acquire lease on %s for %s: it kept changing hands", id, o)
}

// lease reads a session's lease and whether it is live by the database
// clock. ErrNotFound.
func (s *Store) lease(ctx context.Context, id string) (persist.Lease, bool, error) {
	l := persist.Lease{SessionID: id}
	var expires int64
	var live bool
	err := s.pool.QueryRow(ctx, `SELECT lease_node, lease_boot, lease_expires, epoch,
			lease_node <> '' AND lease_expires > termhost_now_ms()
		FROM sessions WHERE id = $1`, id).Scan(&l.Owner.Node, &l.Owner.Boot, &expires, &l.Epoch, &live)
	l.Expires = fromMS(expires)
	return l, live, wrap(err, "lease of %q", id)
}

// RenewLeases implements persist.Leases: ONE statement extends every lease
// o holds (expired or not, as long as nobody took it) to the database's
// now + ttl, using the partial index on (lease_node, lease_boot). The
// answer is ordered by session id. ErrNoOwner.
func (s *Store) RenewLeases(ctx context.Context, o persist.Owner, ttl time.Duration) ([]persist.Lease, error) {
	if o.IsZero() {
		return nil, fmt.Errorf("renew leases: %w", ErrNoOwner)
	}
	// The clock is read once (an InitPlan), not per row: every lease of
	// the batch gets the same expiry and the statement stays cheap.
	rows, err := s.pool.Query(ctx, `UPDATE sessions SET lease_expires = (SELECT termhost_now_ms()) + $3
		WHERE lease_node = $1 AND lease_boot = $2 AND lease_node <> ''
		RETURNING id, epoch, lease_expires`, o.Node, o.Boot, ttl.Milliseconds())
	if err != nil {
		return nil, wrap(err, "renew leases of %s", o)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (persist.Lease, error) {
		l := persist.Lease{Owner: o}
		var expires int64
		err := r.Scan(&l.SessionID, &l.Epoch, &expires)
		l.Expires = fromMS(expires)
		return l, err
	})
	if err != nil {
		return nil, wrap(err, "renew leases of %s", o)
	}
	slices.SortFunc(out, func(a, b persist.Lease) int { return cmp.Compare(a.SessionID, b.SessionID) })
	return out, nil
}

// ReleaseLease implements persist.Leases: fenced by f.Epoch; the owner is
// cleared, the epoch kept (the next acquire bumps it). ErrLeaseLost,
// ErrNotFound.
func (s *Store) ReleaseLease(ctx context.Context, id string, f persist.Fence) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET lease_node = '', lease_boot = '', lease_expires = 0 WHERE id = $1 AND epoch = $2`, id, f.Epoch)
	if err != nil {
		return wrap(err, "release lease on %s", id)
	}
	return s.fenced(ctx, tag.RowsAffected(), id, f.Epoch)
}

// GetLease implements persist.Leases (zero Owner when nobody holds it).
// ErrNotFound.
func (s *Store) GetLease(ctx context.Context, id string) (persist.Lease, error) {
	l, _, err := s.lease(ctx, id)
	return l, err
}

// Heartbeat implements persist.Nodes: an upsert keyed by n.ID with Seen =
// the database's now.
func (s *Store) Heartbeat(ctx context.Context, n persist.Node) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO nodes(id, boot, addr, started_at, seen_at, draining, stopped) VALUES($1,$2,$3,$4,termhost_now_ms(),$5,$6)
		ON CONFLICT(id) DO UPDATE SET boot = excluded.boot, addr = excluded.addr, started_at = excluded.started_at,
			seen_at = excluded.seen_at, draining = excluded.draining, stopped = excluded.stopped`,
		n.ID, n.Boot, n.Addr, ms(n.Started), n.Draining, n.Stopped)
	return wrap(err, "heartbeat of node %s", n.ID)
}

// ListNodes implements persist.Nodes, ordered by ID.
func (s *Store) ListNodes(ctx context.Context) ([]persist.Node, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, boot, addr, started_at, seen_at, draining, stopped FROM nodes ORDER BY id`)
	if err != nil {
		return nil, wrap(err, "list nodes")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (persist.Node, error) {
		var n persist.Node
		var started, seen int64
		err := r.Scan(&n.ID, &n.Boot, &n.Addr, &started, &seen, &n.Draining, &n.Stopped)
		n.Started, n.Seen = fromMS(started), fromMS(seen)
		return n, err
	})
	return out, wrap(err, "list nodes")
}

// PostRequest implements persist.Requests: ID from the table's sequence,
// At from the database clock.
func (s *Store) PostRequest(ctx context.Context, r persist.Request) (persist.Request, error) {
	var at int64
	err := s.pool.QueryRow(ctx, `INSERT INTO node_requests(node, kind, session_id, actor, remote, detail, at)
		VALUES($1,$2,$3,$4,$5,$6,termhost_now_ms()) RETURNING id, at`,
		r.Node, r.Kind, r.SessionID, r.Actor, r.Remote, r.Detail).Scan(&r.ID, &at)
	r.At = fromMS(at)
	return r, wrap(err, "%s request for node %s", r.Kind, r.Node)
}

// TakeRequests implements persist.Requests: one DELETE … RETURNING; a
// concurrent taker blocks on the same rows and then finds them gone, so
// each request goes to exactly one caller. Oldest (lowest ID) first.
func (s *Store) TakeRequests(ctx context.Context, node string) ([]persist.Request, error) {
	rows, err := s.pool.Query(ctx, `DELETE FROM node_requests WHERE node = $1 RETURNING id, node, kind, session_id, actor, remote, detail, at`, node)
	if err != nil {
		return nil, wrap(err, "take requests of node %s", node)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (persist.Request, error) {
		var r persist.Request
		var at int64
		err := row.Scan(&r.ID, &r.Node, &r.Kind, &r.SessionID, &r.Actor, &r.Remote, &r.Detail, &at)
		r.At = fromMS(at)
		return r, err
	})
	if err != nil {
		return nil, wrap(err, "take requests of node %s", node)
	}
	slices.SortFunc(out, func(a, b persist.Request) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// EnsureSecret implements persist.Secrets: one INSERT … ON CONFLICT that
// returns the stored row, so the first writer wins on every node (a racing
// second insert waits for the first to commit, then returns its value).
func (s *Store) EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	var stored []byte
	err := s.pool.QueryRow(ctx, `INSERT INTO secrets(name, value, created_at) VALUES($1, $2, termhost_now_ms())
		ON CONFLICT(name) DO UPDATE SET name = secrets.name
		RETURNING value`, name, nonNil(value)).Scan(&stored)
	return stored, wrap(err, "secret %q", name)
}
