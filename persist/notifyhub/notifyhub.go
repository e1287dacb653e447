// Package notifyhub is the in-process persist.Notifier the embedded stores
// share: SQLite's (one hub per database file in the process) and the
// memory store's (one per store). It refuses what PostgreSQL's NOTIFY
// could not carry, so a test on an embedded store fails where a cluster
// would.
package notifyhub

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrBadChannel is returned for a channel name PostgreSQL could not carry
// (empty, over 63 bytes, a byte outside printable ASCII or a '"') or a
// payload over 1,000 bytes.
var ErrBadChannel = errors.New("bad notifier channel or payload")

// listenBuffer is how many undelivered payloads a listener holds before
// further ones are dropped (wake-ups, not data: the reader polls anyway).
const listenBuffer = 64

// PostgreSQL's limits (NOTIFY payload, an identifier).
const (
	maxPayload = 1000
	maxChannel = 63
)

// Check reports whether channel and payload could cross PostgreSQL's
// NOTIFY; errors wrap ErrBadChannel.
func Check(channel, payload string) error {
	if channel == "" || len(channel) > maxChannel {
		return fmt.Errorf("channel %q: %w", channel, ErrBadChannel)
	}
	for _, c := range []byte(channel) {
		if c < 0x21 || c > 0x7e || c == '"' {
			return fmt.Errorf("channel %q: %w", channel, ErrBadChannel)
		}
	}
	if len(payload) > maxPayload {
		return fmt.Errorf("payload of %d bytes on %s: %w", len(payload), channel, ErrBadChannel)
	}
	return nil
}

// Hub fans payloads out to listeners. Its mu is a leaf lock: a store never
// holds its own lock while calling the hub.
type Hub struct {
	mu        sync.Mutex
	listeners map[string]map[chan string]struct{} // channel → listeners; guarded by mu
}

// Notify sends payload to every listener of channel before it returns; a
// listener whose buffer is full misses it. The caller checked it (Check).
func (h *Hub) Notify(channel, payload string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.listeners[channel] {
		select {
		case ch <- payload:
		default: // full: a wake-up is already pending
		}
	}
}

// Listen delivers channel's payloads until ctx ends or closed is closed
// (the store handle's Close), then closes the returned channel.
func (h *Hub) Listen(ctx context.Context, channel string, closed <-chan struct{}) <-chan string {
	ch := make(chan string, listenBuffer)
	h.mu.Lock()
	if h.listeners == nil {
		h.listeners = map[string]map[chan string]struct{}{}
	}
	if h.listeners[channel] == nil {
		h.listeners[channel] = map[chan string]struct{}{}
	}
	h.listeners[channel][ch] = struct{}{}
	h.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-closed:
		}
		h.mu.Lock()
		delete(h.listeners[channel], ch)
		if len(h.listeners[channel]) == 0 {
			delete(h.listeners, channel)
		}
		close(ch) // under mu: Notify never sends on a closed channel
		h.mu.Unlock()
	}()
	return ch
}
