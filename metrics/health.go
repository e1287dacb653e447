package metrics

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Reasons a node is not ready (SPEC §11: store reachable, listeners up,
// not draining). Ready wraps them with %w.
var (
	ErrDraining     = errors.New("node is draining")
	ErrStoreDown    = errors.New("store unreachable")
	ErrListenerDown = errors.New("listener not serving")
)

// Pinger is the store as readiness sees it: Ping returns an error when the
// store cannot be reached within ctx.
type Pinger interface {
	Ping(ctx context.Context) error
}

// PingFunc adapts a function to Pinger.
type PingFunc func(ctx context.Context) error

// Ping implements Pinger.
func (f PingFunc) Ping(ctx context.Context) error { return f(ctx) }

// Health is a node's readiness: whether a load balancer should send it
// new connections. The zero value is not usable; call NewHealth.
type Health struct {
	store   Pinger        // nil: no store to check
	timeout time.Duration // bound on one Ping

	draining atomic.Bool

	mu        sync.Mutex
	listeners map[string]error // guarded by mu: name → nil while serving, else why not
}

// NewHealth returns a Health that pings store (may be nil) with a 1 s
// bound on every readiness check.
func NewHealth(store Pinger) *Health {
	return &Health{store: store, timeout: time.Second, listeners: map[string]error{}}
}

// Up marks the listener name as serving.
func (h *Health) Up(name string) {
	h.mu.Lock()
	h.listeners[name] = nil
	h.mu.Unlock()
}

// Down marks the listener name as not serving, for the reason err (nil
// means it was closed on purpose).
func (h *Health) Down(name string, err error) {
	if err == nil {
		err = errors.New("closed")
	}
	h.mu.Lock()
	h.listeners[name] = err
	h.mu.Unlock()
}

// Drain marks the node as draining: from now on Ready fails, so a load
// balancer stops sending new connections before the listeners close.
// It is idempotent.
func (h *Health) Drain() { h.draining.Store(true) }

// Draining reports whether Drain was called.
func (h *Health) Draining() bool { return h.draining.Load() }

// Ready returns nil when the node should get new connections, or an error
// wrapping ErrDraining, ErrListenerDown or ErrStoreDown saying why not.
func (h *Health) Ready(ctx context.Context) error {
	if h.draining.Load() {
		return ErrDraining
	}
	h.mu.Lock()
	names := make([]string, 0, len(h.listeners))
	for name := range h.listeners {
		names = append(names, name)
	}
	sort.Strings(names)
	var down error
	for _, name := range names {
		if err := h.listeners[name]; err != nil {
			down = fmt.Errorf("%w: %s: %v", ErrListenerDown, name, err)
			break
		}
	}
	h.mu.Unlock()
	if down != nil {
		return down
	}
	if h.store != nil {
		ctx, cancel := context.WithTimeout(ctx, h.timeout)
		defer cancel()
		if err := h.store.Ping(ctx); err != nil {
			return fmt.Errorf("%w: %v", ErrStoreDown, err)
		}
	}
	return nil
}
