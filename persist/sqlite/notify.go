package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"termhost/persist/notifyhub"
)

// SQLite has no LISTEN/NOTIFY: the Notifier is an in-process broadcast
// (SPEC §6: SQLite serves one node). Every Store opened on the same file
// in this process shares one hub, found in a package-level registry keyed
// by the file's absolute, symlink-free path, so two handles on one file
// see each other's notifications as two nodes on one PostgreSQL do.
// Processes do not share hubs: a second process on the same file gets no
// wake-ups, only what it polls.

// ErrBadChannel is returned by Notify and Listen for a channel name or
// payload PostgreSQL could not carry either (notifyhub.Check). The
// contract's lowercase set is not enforced: persist.NodeChannel embeds
// node ids, and host names carry '-' (and may carry capitals).
var ErrBadChannel = notifyhub.ErrBadChannel

// errClosed: Notify or Listen on a Store after its Close.
var errClosed = errors.New("sqlite store closed")

var hubs = struct {
	mu sync.Mutex
	m  map[string]*hub // guarded by mu
}{m: map[string]*hub{}}

// hub fans notifications out to listeners. hubs.mu and hub.mu are never
// held together.
type hub struct {
	key  string
	refs int // open Stores using it; guarded by hubs.mu
	notifyhub.Hub
}

// acquireHub returns the hub of the database at path, creating it.
func acquireHub(path string) (*hub, error) {
	key, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(key); err == nil {
		key = real
	}
	hubs.mu.Lock()
	defer hubs.mu.Unlock()
	h := hubs.m[key]
	if h == nil {
		h = &hub{key: key}
		hubs.m[key] = h
	}
	h.refs++
	return h, nil
}

// release drops one Store's reference; the last one removes the hub.
func (h *hub) release() {
	hubs.mu.Lock()
	defer hubs.mu.Unlock()
	h.refs--
	if h.refs == 0 && hubs.m[h.key] == h {
		delete(hubs.m, h.key)
	}
}

// Notify implements persist.Notifier: payload goes to every listener of
// channel on every handle of this file in this process; a listener whose
// buffer is full misses it. ErrBadChannel.
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	if err := notifyhub.Check(channel, payload); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-s.closed:
		return fmt.Errorf("notify %s: %w", channel, errClosed)
	default:
	}
	s.hub.Notify(channel, payload)
	return nil
}

// Listen implements persist.Notifier: the channel is closed when ctx ends
// or this Store is closed. ErrBadChannel; an error after Close.
func (s *Store) Listen(ctx context.Context, channel string) (<-chan string, error) {
	if err := notifyhub.Check(channel, ""); err != nil {
		return nil, err
	}
	select {
	case <-s.closed:
		return nil, fmt.Errorf("listen %s: %w", channel, errClosed)
	default:
	}
	return s.hub.Listen(ctx, channel, s.closed), nil
}
