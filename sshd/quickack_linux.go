package sshd

import (
	"net"
	"syscall"
)

// quickAckConn re-arms TCP_QUICKACK after every read. Linux delays ACKs by
// default and turns quick-ack mode off again on its own; with OpenSSH's
// client (Nagle on) that cost two ≈40 ms stalls per handshake on loopback
// (FINDINGS.md). One setsockopt per read removes them.
type quickAckConn struct {
	net.Conn
	raw syscall.RawConn
}

func withQuickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if p, isProxied := c.(interface{ TCPConn() (*net.TCPConn, bool) }); isProxied {
		tc, ok = p.TCPConn() // behind a PROXY-protocol wrapper
	}
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	q := &quickAckConn{Conn: c, raw: raw}
	q.arm()
	return q
}

func (c *quickAckConn) arm() {
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.arm()
	}
	return n, err
}
