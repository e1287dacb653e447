package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// The Notifier is an in-process broadcast, as persist/sqlite's: every
// handle on one db shares its hub.

// listenBuffer is how many undelivered payloads a listener holds before
// further ones are dropped (wake-ups, not data: the reader polls anyway).
const listenBuffer = 64

// PostgreSQL's limits (NOTIFY payload, an identifier), kept so this store
// refuses what PostgreSQL would.
const (
	maxPayload = 1000
	maxChannel = 63
)

// ErrBadChannel is returned by Notify and Listen for a channel name that
// PostgreSQL could not carry (empty, over 63 bytes, a byte outside
// printable ASCII or a '"') or a payload over 1,000 bytes.
var ErrBadChannel = errors.New("bad notifier channel or payload")

// hub fans notifications out to listeners. hub.mu and db.mu are never
// held together.
type hub struct {
	mu        sync.Mutex
	listeners map[string]map[chan string]struct{} // channel → listeners; guarded by mu
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
// channel on every handle; a listener whose buffer is full misses it.
// ErrBadChannel; an error after Close.
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
	h := s.db.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.listeners[channel] {
		select {
		case ch <- payload:
		default: // full: a wake-up is already pending
		}
	}
	return nil
}

// Listen implements persist.Notifier: the channel is closed when ctx ends
// or this handle is closed. ErrBadChannel; an error after Close.
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
	h := s.db.hub
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
