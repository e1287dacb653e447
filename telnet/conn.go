package telnet

import (
	"cmp"
	"maps"
	"net"
	"sync"
	"sync/atomic"
)

// Default window size while the client has not reported one.
const (
	DefaultWidth  = 80
	DefaultHeight = 24
)

// readBufSize is how much one socket read takes in.
const readBufSize = 4096

// Conn is a telnet connection seen as a terminal (an io.ReadWriteCloser):
// Read returns what the user typed, Write draws. Read and Write may be used
// from different goroutines; Read itself (like Write itself) is serialised.
type Conn struct {
	// Lock order: wmu before engMu. The read path never holds engMu while
	// writing: it feeds under engMu, releases it, then writes under wmu.
	nc   net.Conn
	echo atomic.Bool

	rmu     sync.Mutex // serialises Read; guards rbuf, pending, rerr
	rbuf    []byte
	pending []byte // user data fed but not yet returned
	rerr    error  // socket error to report once pending is drained

	engMu sync.Mutex // guards eng
	eng   *Engine

	wmu  sync.Mutex // serialises socket writes; guards wbuf
	wbuf []byte

	stMu    sync.Mutex // guards the negotiated facts below
	width   int
	height  int
	term    string
	env     map[string]string
	resizes chan WindowSize

	closeOnce sync.Once
	closeErr  error
}

func newConn(nc net.Conn) *Conn {
	return &Conn{
		nc:      nc,
		eng:     NewEngine(),
		rbuf:    make([]byte, readBufSize),
		resizes: make(chan WindowSize, 1),
	}
}

// Read returns user data only: telnet commands and negotiation are handled
// here, and replies are written to the client as they arise. Window size
// changes are published on Resizes as Read consumes them, so the caller
// must keep reading.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for len(c.pending) == 0 {
		if c.rerr != nil {
			return 0, c.rerr
		}
		if err := c.fill(true); err != nil {
			c.rerr = err
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	if len(c.pending) == 0 {
		c.pending = nil
	}
	if c.echo.Load() {
		if err := c.writeEcho(p[:n]); err != nil {
			return n, err
		}
	}
	return n, nil
}

// fill does one socket read and feeds it: data goes to pending, replies to
// the socket, events to the negotiated facts. publish says whether window
// sizes go to Resizes (not during Accept). The caller holds rmu.
func (c *Conn) fill(publish bool) error {
	n, err := c.nc.Read(c.rbuf)
	if n == 0 {
		return err
	}
	c.engMu.Lock()
	data, events, reply := c.eng.Feed(c.rbuf[:n])
	var term string
	var env map[string]string
	if len(events) > 0 { // rare: fetch the picks only then
		term, env = c.eng.Term(), c.eng.Env()
	}
	c.engMu.Unlock()
	c.pending = append(c.pending, data...)
	if len(reply) > 0 {
		if werr := c.writeRaw(reply); werr != nil && err == nil {
			err = werr
		}
	}
	if len(events) > 0 {
		c.apply(events, term, env, publish)
	}
	return err
}

// apply records what the events told us; term and env are the engine's
// current picks.
func (c *Conn) apply(events []Event, term string, env map[string]string, publish bool) {
	c.stMu.Lock()
	defer c.stMu.Unlock()
	c.term, c.env = term, env
	for _, ev := range events {
		ws, ok := ev.(WindowSize)
		if !ok {
			continue
		}
		c.width, c.height = ws.Width, ws.Height
		if publish {
			c.publish(WindowSize{Width: c.widthOr(), Height: c.heightOr()})
		}
	}
}

// publish sends ws on the resize channel, replacing an unread older size.
// Only the reader (holding rmu) sends, so draining then sending cannot block.
func (c *Conn) publish(ws WindowSize) {
	select {
	case <-c.resizes:
	default:
	}
	c.resizes <- ws
}

func (c *Conn) widthOr() int  { return cmp.Or(c.width, DefaultWidth) }
func (c *Conn) heightOr() int { return cmp.Or(c.height, DefaultHeight) }

// Write escapes p (see Engine.Encode) and sends it. It is safe to call
// while another goroutine is in Read.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.engMu.Lock()
	c.wbuf = c.eng.Encode(c.wbuf[:0], p)
	c.engMu.Unlock()
	if _, err := c.nc.Write(c.wbuf); err != nil {
		return 0, err
	}
	if cap(c.wbuf) > 64<<10 {
		c.wbuf = nil // do not pin one huge frame's buffer
	}
	return len(p), nil
}

// writeRaw sends protocol bytes as they are.
func (c *Conn) writeRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	return err
}

// Size returns the client's window size, DefaultWidth x DefaultHeight for
// what it has not reported.
func (c *Conn) Size() (width, height int) {
	c.stMu.Lock()
	defer c.stMu.Unlock()
	return c.widthOr(), c.heightOr()
}

// Term returns the best terminal name the client gave (lowercased), or ""
// if it gave none; the caller picks its own default.
func (c *Conn) Term() string {
	c.stMu.Lock()
	defer c.stMu.Unlock()
	return c.term
}

// Env returns a copy of the client's NEW-ENVIRON variables. They are
// unauthenticated hints: never base a login decision on them.
func (c *Conn) Env() map[string]string {
	c.stMu.Lock()
	defer c.stMu.Unlock()
	return maps.Clone(c.env)
}

// Resizes delivers window size changes reported after Accept. It holds at
// most one size: a newer one replaces an unread older one, so a slow
// consumer never blocks Read. It is never closed.
func (c *Conn) Resizes() <-chan WindowSize {
	return c.resizes
}

// RemoteAddr returns the client's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Close closes the socket; a blocked Read or Write returns. It is
// idempotent and returns the first call's result.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.nc.Close() })
	return c.closeErr
}
