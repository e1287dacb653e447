package memory

import (
	"context"
	"fmt"
	"slices"

	"termhost/persist"
)

// PutSnapshot implements persist.Snapshots: fenced by f, the next
// generation (quarantined ones count, so a number is never given twice),
// and the newest 3 kept. ErrNotFound, ErrLeaseLost.
func (s *Store) PutSnapshot(ctx context.Context, id string, f persist.Fence, data []byte) (int64, error) {
	if err := s.lock(); err != nil {
		return 0, err
	}
	defer s.unlock()
	d := s.db
	if _, err := d.fencedSnapshot(id, f); err != nil {
		return 0, err
	}
	gen := d.topGen[id] + 1
	d.topGen[id] = gen
	snap := persist.Snapshot{SessionID: id, Gen: gen, Epoch: f.Epoch, Data: cloneBytes(data), WrittenAt: ms(d.now())}
	d.snapshots[id] = trimFront(append(d.snapshots[id], snap), keepGenerations)
	return gen, nil
}

func (d *db) fencedSnapshot(id string, f persist.Fence) (*sessionRow, error) {
	r, ok := d.sessions[id]
	if !ok {
		return nil, fmt.Errorf("snapshot of session %q: %w", id, persist.ErrNotFound)
	}
	if r.s.Epoch != f.Epoch {
		return nil, fmt.Errorf("snapshot of session %s by %s: epoch %d, store has %d: %w", id, f.Node, f.Epoch, r.s.Epoch, persist.ErrLeaseLost)
	}
	return r, nil
}

// Snapshots implements persist.Snapshots, newest first.
func (s *Store) Snapshots(ctx context.Context, id string) ([]persist.Snapshot, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	var out []persist.Snapshot
	for _, x := range slices.Backward(s.db.snapshots[id]) {
		x.Data = cloneBytes(x.Data)
		out = append(out, x)
	}
	return out, nil
}

// QuarantineSnapshot implements persist.Snapshots. ErrNotFound, ErrLeaseLost.
func (s *Store) QuarantineSnapshot(ctx context.Context, id string, f persist.Fence, gen int64, reason string) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	d := s.db
	if _, err := d.fencedSnapshot(id, f); err != nil {
		return err
	}
	kept := d.snapshots[id]
	i := slices.IndexFunc(kept, func(x persist.Snapshot) bool { return x.Gen == gen })
	if i < 0 {
		return fmt.Errorf("snapshot generation %s/%d: %w", id, gen, persist.ErrNotFound)
	}
	q := persist.QuarantinedSnapshot{Snapshot: kept[i], Reason: reason, At: ms(d.now())}
	d.snapshots[id] = slices.Delete(slices.Clone(kept), i, i+1)
	list := append(d.quarantine[id], q)
	slices.SortFunc(list, func(a, b persist.QuarantinedSnapshot) int { return int(b.Gen - a.Gen) })
	d.quarantine[id] = list
	return nil
}

// Quarantined implements persist.Snapshots, newest first.
func (s *Store) Quarantined(ctx context.Context, id string) ([]persist.QuarantinedSnapshot, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	out := slices.Clone(s.db.quarantine[id])
	for i := range out {
		out[i].Data = cloneBytes(out[i].Data)
	}
	return out, nil
}

// PutLastWorkspace implements persist.Snapshots.
func (s *Store) PutLastWorkspace(ctx context.Context, user string, data []byte) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	s.db.lastWS[user] = cloneBytes(data)
	return nil
}

// LastWorkspace implements persist.Snapshots. ErrNotFound.
func (s *Store) LastWorkspace(ctx context.Context, user string) ([]byte, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.unlock()
	data, ok := s.db.lastWS[user]
	if !ok {
		return nil, fmt.Errorf("last workspace of %q: %w", user, persist.ErrNotFound)
	}
	return cloneBytes(data), nil
}
