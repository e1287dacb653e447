// Package telnetd is the telnet transport: it accepts TCP connections,
// negotiates through package telnet, asks for login and password, and hands
// the connection to the session manager exactly as sshd does. Telnet
// framing stays inside package telnet; the session layer never sees it.
package telnetd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"termhost/admission"
	"termhost/auth"
	"termhost/sessions"
)

// Config wires a Server.
type Config struct {
	Addr    string
	Auth    *auth.Authenticator // the one login path
	Manager *sessions.Manager
	// Admission is the node's gate, shared with the other transports; nil:
	// a gate of its own with no caps and the default login grace.
	Admission *admission.Gate
	// Proxy says whose PROXY headers are believed; nil: PROXY protocol off.
	Proxy       *admission.Trust
	Negotiation time.Duration // wait for NAWS/TTYPE; 0 means 2 s
	Log         *slog.Logger
}

// Server is a running telnet listener.
type Server struct {
	cfg Config
	ln  net.Listener

	mu     sync.Mutex // guards conns and closed
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup

	// base is cancelled by Close, so that logins waiting their turn or
	// their delay in the login path end with the server.
	base context.Context
	stop context.CancelFunc
}

// Listen binds the address.
func Listen(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Admission == nil {
		cfg.Admission = admission.New(admission.Config{})
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("telnet listen %s: %w", cfg.Addr, err)
	}
	base, stop := context.WithCancel(context.Background())
	return &Server{cfg: cfg, ln: cfg.Proxy.Listen("telnet", ln), conns: map[net.Conn]struct{}{}, base: base, stop: stop}, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Close. Admission runs on each
// connection's goroutine, so a trusted proxy's header is awaited there.
func (s *Server) Serve() error {
	var backoff admission.AcceptBackoff
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if backoff.Wait(err, s.cfg.Log, "telnet") {
				continue // out of descriptors: keep serving once they are back
			}
			return err
		}
		backoff.Reset()
		if !s.track(nc) {
			nc.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.forget(nc)
			s.serveConn(nc)
		}()
	}
}

// serveConn admits nc, then runs its login and session.
func (s *Server) serveConn(nc net.Conn) {
	t, err := s.cfg.Admission.Admit("telnet", nc, func() { s.expire(nc) })
	if err != nil {
		if !errors.Is(err, admission.ErrProxyHeader) {
			nc.SetWriteDeadline(time.Now().Add(time.Second))
			nc.Write([]byte(refusal(err) + "\r\n"))
		}
		return
	}
	defer t.Release()
	s.handle(nc, t)
}

// refusal is the sentence a refused client reads.
func refusal(err error) string {
	switch {
	case errors.Is(err, admission.ErrRate), errors.Is(err, admission.ErrSourceFull):
		return "too many connections from your address; try again later"
	default:
		return "too many connections; try again later"
	}
}

// expire ends a connection whose login grace ran out, whatever it is
// doing (negotiating, trickling a name, waiting out a delay).
func (s *Server) expire(nc net.Conn) {
	nc.SetWriteDeadline(time.Now().Add(time.Second))
	nc.Write([]byte("\r\nlogin timed out\r\n"))
	nc.Close()
}

func (s *Server) track(nc net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[nc] = struct{}{}
	return true
}

func (s *Server) forget(nc net.Conn) {
	s.mu.Lock()
	delete(s.conns, nc)
	s.mu.Unlock()
	nc.Close()
}

// Close stops accepting and closes every connection.
func (s *Server) Close() error {
	s.stop()
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}
