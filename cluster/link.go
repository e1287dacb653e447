// Package cluster holds what nodes of one cluster say to each other
// directly (SPEC §6). Everything else they share goes through the store
// (leases, requests, chat); the link carries the one thing the store
// cannot: a live client's bytes, when `attach --shared` lands on a node
// that does not run the session. The joining node forwards the client to
// the owner, which serves it as one more client of the session, so the
// session never moves back and forth between nodes.
//
// Wire format, over TCP: one hello line (JSON, ≤ 4 KiB, ending in '\n')
// authenticated by HMAC-SHA256 under the cluster's link key (a secret in
// the store, the same on every node), then frames in both directions:
// one type byte, a big-endian uint32 length (≤ MaxFrame), the payload.
// 'd' carries terminal bytes, 'r' a window size (two big-endian uint16:
// width, height), 'x' (empty) says the owner ended the client on purpose
// (its farewell was the last 'd'); a link that closes without it lost its
// owner, and the joining node tells the client so. The link is
// not encrypted: run nodes on a private network (as their database link).
package cluster

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"termhost/admission"
	"termhost/persist"
	"termhost/sessions"
)

// Errors of the link.
var (
	ErrBadHello  = errors.New("cluster link: bad hello")
	ErrNoRoute   = errors.New("cluster link: node has no link address")
	ErrFrameSize = errors.New("cluster link: frame too large")
)

// MaxFrame bounds one frame's payload in bytes.
const MaxFrame = 64 << 10

// helloMax bounds the hello line; helloSkew bounds how old (or how far in
// the future) a hello's time may be.
const (
	helloMax  = 4 << 10
	helloSkew = 30 * time.Second
)

// LinkKeySecret is the name of the link key in the store's secrets.
const LinkKeySecret = "cluster_link_key"

// Store is the part of the store the link uses.
type Store interface {
	persist.Nodes
	persist.Secrets
}

// hello introduces a forwarded client.
type hello struct {
	V         int    `json:"v"`
	From      string `json:"from"` // the forwarding node
	User      string `json:"user"`
	Admin     bool   `json:"admin"`
	Session   string `json:"session"`
	Transport string `json:"transport"`
	Remote    string `json:"remote"`
	Term      string `json:"term"`
	Locale    string `json:"locale"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	At        int64  `json:"at"`    // unix seconds
	Nonce     string `json:"nonce"` // random; a hello is accepted once (no replay within helloSkew)
	MAC       string `json:"mac,omitempty"`
}

func (h hello) sum(key []byte) string {
	h.MAC = ""
	b, _ := json.Marshal(h)
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// Serve is what the owner runs for a forwarded client: sessions.Manager.Serve.
type Serve func(ctx context.Context, conn sessions.Conn, info sessions.ClientInfo, u sessions.User, args []string) error

// Link is one node's end of the cluster link: a listener for forwarded
// clients and a dialer that forwards clients to other nodes.
type Link struct {
	node  string
	key   []byte
	store Store
	serve Serve
	log   *slog.Logger
	ln    net.Listener

	mu      sync.Mutex // guards the fields below
	conns   map[net.Conn]struct{}
	closed  bool
	waiting int                  // connections that have not sent a valid hello yet
	seen    map[string]time.Time // nonces of accepted hellos, until they could no longer be fresh
	served  map[net.Conn]bool    // connections past their hello
	refused int                  // refusals since the last log line
	logged  time.Time
	wg      sync.WaitGroup
}

// Listen opens the link listener on addr and reads (or creates) the
// cluster's link key. serve may be set later with SetServe, before Serve.
func Listen(ctx context.Context, addr, node string, store Store, log *slog.Logger) (*Link, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	key, err := store.EnsureSecret(ctx, LinkKeySecret, fresh)
	if err != nil {
		return nil, fmt.Errorf("cluster link key: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cluster link: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Link{node: node, key: key, store: store, log: log, ln: ln, conns: map[net.Conn]struct{}{}, seen: map[string]time.Time{}, served: map[net.Conn]bool{}}, nil
}

// Addr is the listener's address (what the node record advertises).
func (l *Link) Addr() string { return l.ln.Addr().String() }

// SetServe names the function that serves forwarded clients.
func (l *Link) SetServe(s Serve) { l.serve = s }

// Serve accepts forwarded clients until Close.
func (l *Link) Serve() error {
	var backoff admission.AcceptBackoff
	for {
		c, err := l.ln.Accept()
		if err != nil {
			l.mu.Lock()
			closed := l.closed
			l.mu.Unlock()
			if closed || !backoff.Wait(err, l.log, "cluster link") {
				return nil
			}
			continue
		}
		backoff.Reset()
		switch l.track(c) {
		case trackClosed:
			c.Close()
			return nil
		case trackFull:
			c.Close()
			l.refuse(fmt.Errorf("%d connections waiting for a hello (max %d)", maxWaiting, maxWaiting), c)
			continue
		}
		l.wg.Go(func() {
			defer l.untrack(c)
			defer c.Close()
			if err := l.accept(c); err != nil {
				l.refuse(err, c)
			}
		})
	}
}

// maxWaiting bounds connections that have not sent a valid hello: the
// link is for a few nodes, and each waits up to 10 s for its hello.
const maxWaiting = 64

const (
	tracked = iota
	trackClosed
	trackFull
)

func (l *Link) track(c net.Conn) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return trackClosed
	}
	if l.waiting >= maxWaiting {
		return trackFull
	}
	l.waiting++
	l.conns[c] = struct{}{}
	return tracked
}

// greeted counts c as served once its hello is valid, and reports false
// when the hello's nonce was used before (a replay).
func (l *Link) greeted(c net.Conn, nonce string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for n, until := range l.seen {
		if now.After(until) {
			delete(l.seen, n)
		}
	}
	if _, dup := l.seen[nonce]; dup || nonce == "" {
		return false
	}
	l.seen[nonce] = now.Add(2 * helloSkew)
	l.waiting--
	l.served[c] = true
	return true
}

func (l *Link) untrack(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.served[c] {
		l.waiting--
	}
	delete(l.served, c)
	delete(l.conns, c)
}

// refuse logs a refused connection, at most one line a second (a flood of
// bad hellos must not become a flood of log lines).
func (l *Link) refuse(err error, c net.Conn) {
	l.mu.Lock()
	l.refused++
	if time.Since(l.logged) < time.Second {
		l.mu.Unlock()
		return
	}
	n := l.refused
	l.refused, l.logged = 0, time.Now()
	l.mu.Unlock()
	l.log.Warn("cluster link: connection refused", "peer", c.RemoteAddr().String(), "err", err, "refused_since_last_line", n)
}

// Close stops the listener and ends every forwarded client.
func (l *Link) Close() error {
	l.mu.Lock()
	l.closed = true
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	err := l.ln.Close()
	l.wg.Wait()
	return err
}

// accept checks a hello and serves its client.
func (l *Link) accept(c net.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReaderSize(c, helloMax)
	line, err := r.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadHello, err)
	}
	var h hello
	if err := json.Unmarshal(line, &h); err != nil {
		return fmt.Errorf("%w: %v", ErrBadHello, err)
	}
	if !hmac.Equal([]byte(h.sum(l.key)), []byte(h.MAC)) {
		return fmt.Errorf("%w: authentication failed", ErrBadHello)
	}
	if d := time.Since(time.Unix(h.At, 0)); d > helloSkew || d < -helloSkew {
		return fmt.Errorf("%w: stale (%s)", ErrBadHello, d.Round(time.Second))
	}
	if h.V != 1 || h.Session == "" || h.User == "" || l.serve == nil {
		return fmt.Errorf("%w: version %d, session %q, user %q", ErrBadHello, h.V, h.Session, h.User)
	}
	if !l.greeted(c, h.Nonce) {
		return fmt.Errorf("%w: replayed", ErrBadHello)
	}
	_ = c.SetReadDeadline(time.Time{})
	sizes := make(chan sessions.Size, 1)
	fc := &frameConn{c: c, r: r, sizes: sizes}
	info := sessions.ClientInfo{Transport: h.Transport, Remote: h.Remote, Term: h.Term, Locale: h.Locale,
		Width: h.Width, Height: h.Height, Resizes: sizes}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l.log.Info("cluster link: serving a forwarded client", "from", h.From, "session", h.Session, "user", h.User, "remote", h.Remote)
	return l.serve(ctx, fc, info, sessions.User{Name: h.User, Admin: h.Admin}, []string{"attach", h.Session, "--shared"})
}

// Forward implements sessions.Forwarder: it connects conn's client to
// session id on node and copies both ways until either side ends.
func (l *Link) Forward(ctx context.Context, node string, conn sessions.Conn, info sessions.ClientInfo, u sessions.User, id string) error {
	addr, err := l.route(ctx, node)
	if err != nil {
		return err
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("cluster link to %s: %w", node, err)
	}
	defer c.Close()
	h := hello{V: 1, From: l.node, User: u.Name, Admin: u.Admin, Session: id, Transport: info.Transport, Remote: info.Remote,
		Term: info.Term, Locale: info.Locale, Width: info.Width, Height: info.Height, At: time.Now().Unix(), Nonce: nonce()}
	h.MAC = h.sum(l.key)
	b, _ := json.Marshal(h)
	if _, err := c.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("cluster link to %s: %w", node, err)
	}
	fc := &frameConn{c: c, r: bufio.NewReader(c)}
	done := make(chan struct{})
	defer close(done)
	if info.Resizes != nil {
		go func() {
			for {
				select {
				case <-done:
					return
				case sz, ok := <-info.Resizes:
					if !ok {
						return
					}
					if fc.writeResize(sz) != nil {
						return
					}
				}
			}
		}()
	}
	// Owner → client until the owner closes; client → owner until the
	// client leaves (then the link closes, and the owner detaches it).
	go func() {
		_, _ = io.Copy(fc, conn)
		c.Close()
	}()
	_, err = io.Copy(conn, fc)
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	if !fc.ended {
		// No 'x': the owner died (kill -9, a lost machine) mid-session.
		_, _ = io.WriteString(conn, "\r\n[the node running this session stopped; reconnect to resume]\r\n")
		l.log.Warn("cluster link: the owner went away", "node", node, "session", id)
	}
	return err
}

// route finds node's link address in its node record ("link=HOST:PORT").
func (l *Link) route(ctx context.Context, node string) (string, error) {
	nodes, err := l.store.ListNodes(ctx)
	if err != nil {
		return "", err
	}
	for _, n := range nodes {
		if n.ID != node {
			continue
		}
		for _, f := range strings.Fields(n.Addr) {
			if a, ok := strings.CutPrefix(f, "link="); ok {
				return a, nil
			}
		}
	}
	return "", fmt.Errorf("%w: %s", ErrNoRoute, node)
}

// frameConn is one side of the link as a sessions.Conn: Read returns the
// payload of 'd' frames (and delivers 'r' frames to sizes), Write sends
// one 'd' frame per call (split at MaxFrame).
type frameConn struct {
	c     net.Conn
	r     *bufio.Reader
	sizes chan sessions.Size // nil on the forwarding side
	wmu   sync.Mutex         // one frame at a time
	left  int                // payload bytes of the current 'd' frame not read yet
	ended bool               // an 'x' frame arrived (read side only)
}

func (f *frameConn) Read(p []byte) (int, error) {
	for f.left == 0 {
		var hdr [5]byte
		if _, err := io.ReadFull(f.r, hdr[:]); err != nil {
			return 0, err
		}
		n := binary.BigEndian.Uint32(hdr[1:])
		if n > MaxFrame {
			return 0, fmt.Errorf("%w: %d bytes", ErrFrameSize, n)
		}
		switch hdr[0] {
		case 'd':
			f.left = int(n)
		case 'x':
			f.ended = true
			return 0, io.EOF
		case 'r':
			var b [4]byte
			if n != 4 {
				return 0, fmt.Errorf("cluster link: resize frame of %d bytes", n)
			}
			if _, err := io.ReadFull(f.r, b[:]); err != nil {
				return 0, err
			}
			if f.sizes != nil {
				sz := sessions.Size{Width: int(binary.BigEndian.Uint16(b[:2])), Height: int(binary.BigEndian.Uint16(b[2:]))}
				select { // newest wins
				case <-f.sizes:
				default:
				}
				f.sizes <- sz
			}
		default:
			return 0, fmt.Errorf("cluster link: unknown frame type %q", hdr[0])
		}
	}
	n, err := f.r.Read(p[:min(len(p), f.left)])
	f.left -= n
	return n, err
}

func (f *frameConn) Write(p []byte) (int, error) {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	written := 0
	for len(p) > 0 {
		n := min(len(p), MaxFrame)
		var hdr [5]byte
		hdr[0] = 'd'
		binary.BigEndian.PutUint32(hdr[1:], uint32(n))
		if _, err := f.c.Write(append(hdr[:], p[:n]...)); err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

func (f *frameConn) writeResize(sz sessions.Size) error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	var b [9]byte
	b[0] = 'r'
	binary.BigEndian.PutUint32(b[1:5], 4)
	binary.BigEndian.PutUint16(b[5:7], uint16(min(max(sz.Width, 0), 65535)))
	binary.BigEndian.PutUint16(b[7:9], uint16(min(max(sz.Height, 0), 65535)))
	_, err := f.c.Write(b[:])
	return err
}

// Close ends the link; on the owner's side it first says so ('x').
func (f *frameConn) Close() error {
	if f.sizes != nil { // the owner's side
		f.wmu.Lock()
		_, _ = f.c.Write([]byte{'x', 0, 0, 0, 0})
		f.wmu.Unlock()
	}
	return f.c.Close()
}

func nonce() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}
