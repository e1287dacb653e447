package abuse

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// ErrNotLoopback is returned for an address outside 127.0.0.0/8: the kit
// never sends its traffic anywhere else.
var ErrNotLoopback = fmt.Errorf("abuse: only 127.0.0.0/8 addresses are allowed")

// Loopback checks that host (an IP, or host:port) is in 127.0.0.0/8.
func Loopback(host string) error {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Is4() || ip.As4()[0] != 127 {
		return fmt.Errorf("%w: %q", ErrNotLoopback, host)
	}
	return nil
}

// dial opens a TCP connection to addr from the loopback IP source ("" lets
// the kernel choose) and writes header first (a PROXY header) when given.
func dial(ctx context.Context, addr, source string, header []byte) (*stallConn, error) {
	if err := Loopback(addr); err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	if source != "" {
		if err := Loopback(source); err != nil {
			return nil, err
		}
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(source)}
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s from %s: %w", addr, source, err)
	}
	if len(header) > 0 {
		if _, err := nc.Write(header); err != nil {
			nc.Close()
			return nil, fmt.Errorf("PROXY header to %s: %w", addr, err)
		}
	}
	return &stallConn{Conn: nc, stall: make(chan struct{}), closed: make(chan struct{})}, nil
}

// stallConn is a connection whose reading can be stopped for good: after
// Stall, Read blocks until Close, so the server's output piles up in the
// socket buffers as it would behind a client that stopped reading.
type stallConn struct {
	net.Conn
	stallOnce sync.Once
	closeOnce sync.Once
	stall     chan struct{}
	closed    chan struct{}
}

func (c *stallConn) Read(p []byte) (int, error) {
	select {
	case <-c.stall:
		<-c.closed
		return 0, net.ErrClosed
	default:
	}
	return c.Conn.Read(p)
}

// Stall stops reading.
func (c *stallConn) Stall() { c.stallOnce.Do(func() { close(c.stall) }) }

func (c *stallConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
