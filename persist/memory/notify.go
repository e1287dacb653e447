package memory

import (
	"context"
	"fmt"

	"termhost/persist/notifyhub"
)

// The Notifier is an in-process broadcast, as persist/sqlite's: every
// handle on one db shares its hub.

// ErrBadChannel is returned by Notify and Listen for a channel name or
// payload PostgreSQL could not carry either (notifyhub.Check).
var ErrBadChannel = notifyhub.ErrBadChannel

// Notify implements persist.Notifier: payload goes to every listener of
// channel on every handle; a listener whose buffer is full misses it.
// ErrBadChannel; an error after Close.
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
	s.db.hub.Notify(channel, payload)
	return nil
}

// Listen implements persist.Notifier: the channel is closed when ctx ends
// or this handle is closed. ErrBadChannel; an error after Close.
func (s *Store) Listen(ctx context.Context, channel string) (<-chan string, error) {
	if err := notifyhub.Check(channel, ""); err != nil {
		return nil, err
	}
	select {
	case <-s.closed:
		return nil, fmt.Errorf("listen %s: %w", channel, errClosed)
	default:
	}
	return s.db.hub.Listen(ctx, channel, s.closed), nil
}
