package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
)

// SQLite has no LISTEN/NOTIFY: the Notifier is an in-process broadcast
// (SPEC §6: SQLite serves one node). Every Store opened on the same file
// in this process shares one hub, found in a package-level registry keyed
// by the file's absolute, symlink-free path, so two handles on one file
// see each other's notifications as two nodes on one PostgreSQL do.
// Processes do not share hubs: a second process on the same file gets no
// wake-ups, only what it polls.

// listenBuffer is how many undelivered payloads a listener holds before
// further ones are dropped (wake-ups, not data: the reader polls anyway).
const listenBuffer = 64

// maxPayload and maxChannel are PostgreSQL's limits (NOTIFY payload, an
// identifier), kept here so SQLite refuses what PostgreSQL would.
const (
	maxPayload = 1000
	maxChannel = 63
)

// ErrBadChannel is returned by Notify and Listen for a channel name that
// PostgreSQL could not carry either (empty, over 63 bytes, or holding a
// byte outside printable ASCII or a '"') or a payload over 1,000 bytes.
// The contract's lowercase set is not enforced: persist.NodeChannel embeds
// node ids, and host names carry '-' (and may carry capitals).
var ErrBadChannel = errors.New("bad notifier channel or payload")

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

	mu        sync.Mutex
	listeners map[string]map[chan string]struct{} // channel → listeners; guarded by mu
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
		h = &hub{key: key, listeners: map[string]map[chan string]struct{}{}}
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

func checkChannel(channel string) error {
	if channel == "" || len(channel) > maxChannel {
		return fmt.Errorf("channel %q: %w", channel, ErrBadChannel)
	}
	for _, c := range []byte(channel) {
		if c < 0x21 || c > 0x7e || c == '"' {
			return fmt.Errorf("channel %q: %w", channel, ErrBadChannel)
		}
	}
	return nil
}

// Notify implements persist.Notifier: payload goes to every listener of
// channel on every handle of this file in this process; a listener whose
// buffer is full misses it. ErrBadChannel.
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	if err := checkChannel(channel); err != nil {
		return err
	}
	if len(payload) > maxPayload {
		return fmt.Errorf("payload of %d bytes on %s: %w", len(payload), channel, ErrBadChannel)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-s.closed:
		return fmt.Errorf("notify %s: %w", channel, errClosed)
	default:
	}
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	for ch := range s.hub.listeners[channel] {
		select {
		case ch <- payload:
		default: // full: a wake-up is already pending
		}
	}
	return nil
}

// Listen implements persist.Notifier: the channel is closed when ctx ends
// or this Store is closed. ErrBadChannel; an error after Close.
func (s *Store) Listen(ctx context.Context, channel string) (<-chan string, error) {
	if err := checkChannel(channel); err != nil {
		return nil, err
	}
	select {
	case <-s.closed:
		return nil, fmt.Errorf("listen %s: %w", channel, errClosed)
	default:
	}
	ch := make(chan string, listenBuffer)
	h := s.hub
	h.mu.Lock()
	if h.listeners[channel] == nil {
		h.listeners[channel] = map[chan string]struct{}{}
	}
	h.listeners[channel][ch] = struct{}{}
	h.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-s.closed:
		}
		h.mu.Lock()
		delete(h.listeners[channel], ch)
		if len(h.listeners[channel]) == 0 {
			delete(h.listeners, channel)
		}
		close(ch) // under mu: Notify never sends on a closed channel
		h.mu.Unlock()
	}()
	return ch, nil
}
