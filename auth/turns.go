package auth

import (
	"context"
	"slices"
	"sync"
)

// turns lets one holder per key proceed at a time; the others wait in line,
// first those of priority first, each class in arrival order. An entry lives
// only while someone holds or waits for it, so the table is bounded by the
// connections logging in.
type turns struct {
	mu sync.Mutex       // guards m and every turn
	m  map[string]*turn // by key
}

// Priorities of a wait for a turn.
const (
	first = iota // served before any later waiter: a source that has not failed here
	later        // a source that failed on the account before
	nPrio
)

type turn struct {
	held    bool
	waiters [nPrio][]chan struct{} // closed to hand the turn over
}

// acquire waits for key's turn (behind waiters of a lower prio value, then
// in arrival order) or ctx's end; done gives the turn back.
func (t *turns) acquire(ctx context.Context, key string, prio int) (done func(), err error) {
	t.mu.Lock()
	tu := t.m[key]
	if tu == nil {
		tu = &turn{}
		t.m[key] = tu
	}
	if !tu.held {
		tu.held = true
		t.mu.Unlock()
		return func() { t.release(key, tu) }, nil
	}
	ch := make(chan struct{})
	tu.waiters[prio] = append(tu.waiters[prio], ch)
	t.mu.Unlock()
	select {
	case <-ch:
		return func() { t.release(key, tu) }, nil
	case <-ctx.Done():
	}
	t.mu.Lock()
	if i := slices.Index(tu.waiters[prio], ch); i >= 0 {
		tu.waiters[prio] = slices.Delete(tu.waiters[prio], i, i+1)
		t.mu.Unlock()
		return nil, ctx.Err()
	}
	t.mu.Unlock()
	t.release(key, tu) // handed over as ctx ended: pass it on
	return nil, ctx.Err()
}

// release hands the turn to the next waiter, or frees it.
func (t *turns) release(key string, tu *turn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for p := range tu.waiters {
		if len(tu.waiters[p]) > 0 {
			ch := tu.waiters[p][0]
			tu.waiters[p] = tu.waiters[p][1:]
			close(ch)
			return
		}
	}
	tu.held = false
	delete(t.m, key)
}
