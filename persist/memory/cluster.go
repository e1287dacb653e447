package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"termhost/persist"
)

// errNoOwner refuses a lease for nobody: a zero Owner is what a released
// lease stores.
var errNoOwner = errors.New("lease owner is empty")

// AcquireLease implements persist.Leases (SPEC §6), expiry judged by the
// store clock. ErrNotFound; ErrLeaseHeld (wrapped) with the holder's Lease.
func (s *Store) AcquireLease(ctx context.Context, id string, o persist.Owner, ttl time.Duration) (persist.Lease, error) {
	if o.IsZero() {
		return persist.Lease{}, fmt.Errorf("acquire lease on %s: %w", id, errNoOwner)
	}
	if err := s.lock(); err != nil {
		return persist.Lease{}, err
	}
	defer s.unlock()
	r, ok := s.db.sessions[id]
	if !ok {
		return persist.Lease{}, fmt.Errorf("acquire lease on %q: %w", id, persist.ErrNotFound)
	}
	cur := r.lease()
	now := ms(s.db.now())
	same := r.leaseOwner == o
	if !same && !r.leaseOwner.IsZero() && r.leaseExpires.After(now) {
		return cur, fmt.Errorf("session %s held by %s until %s: %w", id, cur.Owner, cur.Expires.Format(time.RFC3339Nano), persist.ErrLeaseHeld)
	}
	if !same {
		r.s.Epoch++
	}
	s.db.setLease(r, o, ms(now.Add(ttl)))
	r.s.Node = o.Node
	return r.lease(), nil
}

func (r *sessionRow) lease() persist.Lease {
	return persist.Lease{SessionID: r.s.ID, Owner: r.leaseOwner, Epoch: r.s.Epoch, Expires: r.leaseExpires}
}

// RenewLeases implements persist.Leases: every lease o holds, expired or
// not, runs to the store's now + ttl; the answer is ordered by session id.
func (s *Store) RenewLeases(ctx context.Context, o persist.Owner, ttl time.Duration) ([]persist.Lease, error) {
	if o.IsZero() {
		return nil, fmt.Errorf("renew leases: %w", errNoOwner)
	}
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	until := ms(s.db.now().Add(ttl))
	var out []persist.Lease
	for _, r := range s.db.byLease[o] {
		r.leaseExpires = until
		out = append(out, r.lease())
	}
	slices.SortFunc(out, func(a, b persist.Lease) int { return strings.Compare(a.SessionID, b.SessionID) })
	return out, nil
}

// ReleaseLease implements persist.Leases: fenced by f.Epoch. ErrLeaseLost,
// ErrNotFound.
func (s *Store) ReleaseLease(ctx context.Context, id string, f persist.Fence) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	r, err := s.db.fenced(id, f.Epoch)
	if err != nil {
		return err
	}
	s.db.setLease(r, persist.Owner{}, time.Time{})
	return nil
}

// GetLease implements persist.Leases. ErrNotFound.
func (s *Store) GetLease(ctx context.Context, id string) (persist.Lease, error) {
	if err := s.lock(); err != nil {
		return persist.Lease{}, err
	}
	defer s.unlock()
	r, ok := s.db.sessions[id]
	if !ok {
		return persist.Lease{SessionID: id}, fmt.Errorf("lease of %q: %w", id, persist.ErrNotFound)
	}
	return r.lease(), nil
}

// Heartbeat implements persist.Nodes: keyed by n.ID, Seen = store now.
func (s *Store) Heartbeat(ctx context.Context, n persist.Node) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	n.Started, n.Seen = ms(n.Started), ms(s.db.now())
	s.db.nodes[n.ID] = n
	return nil
}

// ListNodes implements persist.Nodes, by ID.
func (s *Store) ListNodes(ctx context.Context) ([]persist.Node, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	var out []persist.Node
	for _, n := range s.db.nodes {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b persist.Node) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// PostRequest implements persist.Requests: ID increasing, At from the
// store clock.
func (s *Store) PostRequest(ctx context.Context, r persist.Request) (persist.Request, error) {
	if err := s.lock(); err != nil {
		return r, err
	}
	defer s.unlock()
	s.db.requestSeq++
	r.ID, r.At = s.db.requestSeq, ms(s.db.now())
	s.db.requests = append(s.db.requests, r)
	return r, nil
}

// TakeRequests implements persist.Requests: node's requests, removed and
// returned oldest first, each to exactly one caller.
func (s *Store) TakeRequests(ctx context.Context, node string) ([]persist.Request, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	var out, rest []persist.Request
	for _, r := range s.db.requests {
		if r.Node == node {
			out = append(out, r)
		} else {
			rest = append(rest, r)
		}
	}
	s.db.requests = rest
	slices.SortFunc(out, func(a, b persist.Request) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// EnsureSecret implements persist.Secrets: the first value stored under
// name wins.
func (s *Store) EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	if _, ok := s.db.secrets[name]; !ok {
		s.db.secrets[name] = cloneBytes(value)
	}
	return cloneBytes(s.db.secrets[name]), nil
}
