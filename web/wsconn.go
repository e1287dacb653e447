package web

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"termhost/sessions"
)

// Close codes the page understands (terminal page, term.js).
const (
	// CloseEnded: the server ended this attachment on purpose (taken over
	// by another client, detached, killed, quit, idle, refused). The reason
	// says why; the page shows it and does not reconnect by itself.
	CloseEnded websocket.StatusCode = 4000
	// CloseRestart: the server is shutting down or draining; the page
	// reconnects with backoff and lands back in the same session.
	CloseRestart websocket.StatusCode = 4001
)

// Timing of the socket.
const (
	writeTimeout = 10 * time.Second // a browser that reads nothing this long is dropped
	pingEvery    = 20 * time.Second // keep-alive, and how often a live terminal counts as use of its login
	pingTimeout  = 10 * time.Second
)

// wsConn adapts a WebSocket to sessions.Conn (transport "web"): binary
// messages carry terminal bytes both ways, text messages from the page are
// control messages (resize). Read is called by one goroutine (the
// session's pump); Write and Close by the client's outbox goroutine.
type wsConn struct {
	ws      *websocket.Conn
	ctx     context.Context
	resizes chan sessions.Size
	// draining reports whether the node is shutting down when the session
	// layer closes the socket.
	draining func() bool

	pending []byte // unread rest of the last binary message; Read's only
	bad     atomic.Int64
	control controlBudget // Read's only

	mu     sync.Mutex
	reason string // set by Farewell
	told   bool
	closed sync.Once
}

func newWSConn(ctx context.Context, ws *websocket.Conn, draining func() bool) *wsConn {
	ws.SetReadLimit(maxMessage)
	return &wsConn{ws: ws, ctx: ctx, resizes: make(chan sessions.Size, 1), draining: draining}
}

// Read returns terminal bytes from the page. Control messages met on the
// way are applied (resize) or dropped (anything invalid) without ending
// the connection; an oversized message ends it.
func (c *wsConn) Read(p []byte) (int, error) {
	for len(c.pending) == 0 {
		typ, data, err := c.ws.Read(c.ctx)
		if err != nil {
			return 0, err
		}
		switch typ {
		case websocket.MessageBinary:
			c.pending = data
		case websocket.MessageText:
			if err := c.control.wait(c.ctx, time.Now()); err != nil {
				return 0, err
			}
			size, err := decodeControl(data)
			if err != nil {
				c.bad.Add(1)
				continue
			}
			sessions.OfferSize(c.resizes, size)
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// Control messages (resizes) are read at most ControlRate a second after a
// burst of ControlBurst: a page sends a few dozen a second while its window
// is dragged, and a flood (re-attack trial: a million resize frames in 5 s,
// each read and decoded, put another user's echo at 32 ms) waits in TCP,
// the sender's problem, as terminal bytes past their budget do.
const (
	ControlRate  = 100 // messages a second
	ControlBurst = 100
)

// controlBudget is a socket's token bucket for control messages.
type controlBudget struct {
	tokens float64
	at     time.Time
}

// wait takes one token at now, sleeping until there is one; it returns
// ctx's error if the socket ends first.
func (b *controlBudget) wait(ctx context.Context, now time.Time) error {
	if b.at.IsZero() {
		b.tokens, b.at = ControlBurst, now
	}
	b.tokens = min(ControlBurst, b.tokens+max(now.Sub(b.at), 0).Seconds()*ControlRate)
	b.at = now
	b.tokens--
	if b.tokens >= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(-b.tokens / ControlRate * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Write sends p as one binary message with each bare "\n" turned into
// "\r\n", as the SSH pty and the telnet NVT do (the renderer relies on
// it). A page that does not take it within writeTimeout loses its
// connection (the library closes it).
func (c *wsConn) Write(p []byte) (int, error) {
	ctx, cancel := context.WithTimeout(c.ctx, writeTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageBinary, crlf(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// crlf returns p with every "\n" not preceded by "\r" preceded by one
// (p itself when there is none).
func crlf(p []byte) []byte {
	n := 0
	for i, b := range p {
		if b == '\n' && (i == 0 || p[i-1] != '\r') {
			n++
		}
	}
	if n == 0 {
		return p
	}
	out := make([]byte, 0, len(p)+n)
	for i, b := range p {
		if b == '\n' && (i == 0 || p[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, b)
	}
	return out
}

// Farewell implements sessions.FarewellConn: the session layer says why it
// is about to close this connection, and Close passes it on as the close
// reason the page shows.
func (c *wsConn) Farewell(reason string) {
	c.mu.Lock()
	c.reason, c.told = reason, true
	c.mu.Unlock()
}

// Close ends the socket with a code saying whether the page should come
// back: CloseRestart while the node drains, CloseEnded after a farewell,
// a normal closure otherwise.
func (c *wsConn) Close() error {
	c.closed.Do(func() {
		c.mu.Lock()
		reason, told := c.reason, c.told
		c.mu.Unlock()
		code := websocket.StatusNormalClosure
		switch {
		case c.draining != nil && c.draining():
			code = CloseRestart
		case told:
			code = CloseEnded
		}
		_ = c.ws.Close(code, closeReason(reason))
	})
	return nil
}

// closeReason fits a farewell into a close frame (at most 123 bytes) as
// plain text: no brackets, no control characters.
func closeReason(s string) string {
	s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "[]"))
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return truncate(s, 123)
}

// keepAlive pings the page until ctx ends; a page that does not answer
// within pingTimeout is cut off, which ends the session's pump for it.
// alive is called after each answered ping.
func (c *wsConn) keepAlive(ctx context.Context, alive func()) {
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err := c.ws.Ping(pctx)
		cancel()
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				c.ws.CloseNow()
			}
			return
		}
		if alive != nil {
			alive()
		}
	}
}
