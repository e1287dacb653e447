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

	"termhost/auth"
	"termhost/persist"
	"termhost/sessions"
)

// Users is the part of the store the login needs.
type Users interface {
	GetUser(ctx context.Context, name string) (persist.User, error)
}

// Config wires a Server.
type Config struct {
	Addr        string
	Auth        *auth.Authenticator
	Users       Users
	Limiter     *auth.Limiter
	Manager     *sessions.Manager
	LoginGrace  time.Duration
	MaxUnauth   int
	ConnRate    *auth.ConnRate
	Negotiation time.Duration // wait for NAWS/TTYPE; 0 means 2 s
	Log         *slog.Logger
}

// Server is a running telnet listener.
type Server struct {
	cfg Config
	ln  net.Listener

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	pending int // connections not logged in yet
	closed  bool
	wg      sync.WaitGroup
}

// Listen binds the address.
func Listen(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("telnet listen %s: %w", cfg.Addr, err)
	}
	return &Server{cfg: cfg, ln: ln, conns: map[net.Conn]struct{}{}}, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Close.
func (s *Server) Serve() error {
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
			return err
		}
		if !s.cfg.ConnRate.Allow(auth.SourceOf(nc.RemoteAddr())) {
			nc.Write([]byte("too many connections from your address; try again later\r\n"))
			nc.Close()
			continue
		}
		if !s.admit(nc) {
			nc.Write([]byte("too many connections; try again later\r\n"))
			nc.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.forget(nc)
			s.handle(nc)
		}()
	}
}

func (s *Server) admit(nc net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || (s.cfg.MaxUnauth > 0 && s.pending >= s.cfg.MaxUnauth) {
		return false
	}
	s.pending++
	s.conns[nc] = struct{}{}
	return true
}

func (s *Server) loggedIn() {
	s.mu.Lock()
	s.pending--
	s.mu.Unlock()
}

func (s *Server) forget(nc net.Conn) {
	s.mu.Lock()
	delete(s.conns, nc)
	s.mu.Unlock()
	nc.Close()
}

// Close stops accepting and closes every connection.
func (s *Server) Close() error {
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
