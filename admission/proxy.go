package admission

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/pires/go-proxyproto"
)

// Trust says which peers may put a PROXY protocol header (v1 or v2) in
// front of their connection (SPEC §6: proxy_protocol on, proxy_trusted).
//
//   - A trusted peer (a load balancer) must send one: its header's source is
//     the connection's address; a connection without a valid header is
//     refused (HAProxy's send-proxy always sends one, so a missing header is
//     a misconfiguration or someone else on that address).
//   - Anyone else is served as a direct client under its socket address; a
//     header from it is refused, never believed.
type Trust struct {
	ranges []string
	policy proxyproto.ConnPolicyFunc
	// HeaderTimeout bounds the wait for a trusted peer's header; 0 means
	// DefaultGrace. Set it to login_grace.
	HeaderTimeout time.Duration
	// Log receives refused headers, at most one line per second per
	// listener; nil means slog.Default.
	Log *slog.Logger
	// Metrics counts a header refused from an untrusted peer as
	// termhost_connections_refused_total{reason="proxy_header"} (SPEC §11),
	// as the Gate counts a trusted peer's missing one; nil: nobody.
	Metrics interface{ Refused(reason string) }
}

// ParseTrust builds a Trust from proxy_trusted entries, each a CIDR
// ("10.0.0.0/8") or a single address ("192.0.2.7"). An empty list trusts
// nobody: every header is refused.
func ParseTrust(ranges []string) (*Trust, error) {
	// go-proxyproto's own policy hook: REQUIRE a header from the listed
	// ranges, REJECT one from everybody else.
	p, err := proxyproto.PolicyFromRanges(ranges, proxyproto.REQUIRE, proxyproto.REJECT)
	if err != nil {
		return nil, fmt.Errorf("proxy_trusted: %w", err)
	}
	return &Trust{ranges: append([]string(nil), ranges...), policy: p}, nil
}

// Listen wraps ln, the listener of transport (ssh|telnet|web, named in log
// lines), so that its connections follow t. A nil Trust (PROXY protocol
// off) returns ln unchanged: a header is then just bytes the transport does
// not understand.
func (t *Trust) Listen(transport string, ln net.Listener) net.Listener {
	if t == nil {
		return ln
	}
	timeout := t.HeaderTimeout
	if timeout <= 0 {
		timeout = DefaultGrace
	}
	log := t.Log
	if log == nil {
		log = slog.Default()
	}
	return &proxyListener{
		inner:     &proxyproto.Listener{Listener: ln, ConnPolicy: t.policy, ReadHeaderTimeout: timeout},
		transport: transport,
		refusals:  newRefusalLog(log, DefaultRefusalEvery, nil),
		metrics:   t.Metrics,
	}
}

// proxyListener hands out connections whose RemoteAddr is the real client.
type proxyListener struct {
	inner     *proxyproto.Listener
	transport string
	refusals  *refusalLog
	metrics   interface{ Refused(reason string) } // may be nil
}

func (l *proxyListener) Accept() (net.Conn, error) {
	c, err := l.inner.Accept()
	if err != nil {
		return nil, err
	}
	pc, ok := c.(*proxyproto.Conn)
	if !ok { // SKIP: not produced by our policy
		return c, nil
	}
	if pc.ProxyHeaderPolicy == proxyproto.REQUIRE {
		return &trustedConn{Conn: pc}, nil
	}
	return &untrustedConn{Conn: pc, l: l}, nil
}

func (l *proxyListener) Close() error   { return l.inner.Close() }
func (l *proxyListener) Addr() net.Addr { return l.inner.Addr() }

// trustedConn comes from a trusted proxy. RemoteAddr waits for the header
// (at most the header timeout); ProxyErr says whether one came.
type trustedConn struct {
	*proxyproto.Conn
}

// ProxyErr reports a missing or malformed header, or a LOCAL one (a health
// check), none of which names a client to admit.
func (c *trustedConn) ProxyErr() error {
	h := c.ProxyHeader()
	if h == nil || h.Command.IsLocal() || h.SourceAddr == nil {
		return fmt.Errorf("%w from %s", ErrProxyHeader, c.Raw().RemoteAddr())
	}
	return nil
}

// untrustedConn comes straight from a client: its address is the socket's
// (never a header's, so asking for it never waits for bytes), and a header
// it sends fails the first read.
type untrustedConn struct {
	*proxyproto.Conn
	l    *proxyListener
	once sync.Once
}

func (c *untrustedConn) RemoteAddr() net.Addr { return c.Raw().RemoteAddr() }
func (c *untrustedConn) LocalAddr() net.Addr  { return c.Raw().LocalAddr() }

func (c *untrustedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if errors.Is(err, proxyproto.ErrSuperfluousProxyHeader) {
		c.once.Do(func() {
			if c.l.metrics != nil {
				c.l.metrics.Refused("proxy_header")
			}
			c.l.refusals.warn("proxy_header", "PROXY header from an untrusted peer refused",
				"transport", c.l.transport, "remote", c.RemoteAddr())
		})
	}
	return n, err
}

// Write does not wait for the header check (proxyproto's would, until the
// client has sent something): SSH and telnet servers speak first.
func (c *untrustedConn) Write(p []byte) (int, error) { return c.Raw().Write(p) }
