package telnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// ErrHandshake wraps every error Accept returns.
var ErrHandshake = errors.New("telnet: negotiation failed")

// DefaultNegotiationTimeout is how long Accept waits for a silent client.
const DefaultNegotiationTimeout = 2 * time.Second

// maxEarlyInput caps user input buffered during negotiation; past it,
// Accept stops waiting and lets the caller read.
const maxEarlyInput = 64 << 10

// Options configure Accept.
type Options struct {
	// NegotiationTimeout bounds the wait for the client's window size and
	// terminal type; 0 (or less) means DefaultNegotiationTimeout.
	NegotiationTimeout time.Duration
}

// Accept takes over nc: it sends our opening negotiation (Engine.Start) and
// waits until the client has answered it (Engine.Settled) or the timeout
// has passed, whichever is first. A client that never answers gets
// DefaultWidth x DefaultHeight and Term "". Input typed meanwhile is kept
// for Read. On error (the client left, ctx ended) nc is left open for the
// caller to close.
func Accept(ctx context.Context, nc net.Conn, opts Options) (*Conn, error) {
	timeout := opts.NegotiationTimeout
	if timeout <= 0 {
		timeout = DefaultNegotiationTimeout
	}
	c := newConn(nc)
	fail := func(err error) (*Conn, error) {
		return nil, fmt.Errorf("%w with %s: %w", ErrHandshake, nc.RemoteAddr(), err)
	}
	if err := c.writeRaw(c.eng.Start()); err != nil {
		return fail(err)
	}
	if err := nc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return fail(err)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetReadDeadline(time.Unix(1, 0)) })
	err := c.negotiate()
	if !stop() {
		return fail(ctx.Err())
	}
	if err != nil {
		return fail(err)
	}
	if err := nc.SetReadDeadline(time.Time{}); err != nil {
		return fail(err)
	}
	return c, nil
}

// negotiate reads until the engine has settled, the deadline has passed
// (not an error) or the early input is too large.
func (c *Conn) negotiate() error {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for len(c.pending) < maxEarlyInput {
		c.engMu.Lock()
		settled := c.eng.Settled()
		c.engMu.Unlock()
		if settled {
			return nil
		}
		if err := c.fill(false); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			return err
		}
	}
	return nil
}
